"""The review aggregate and its moderation state machine, this service's view of a
request, and the per-service stats. Pure: no storage, no HTTP.

Moderation of a review with a comment::

    screening --(worker)--> pending | flagged --(attendant)--> approved | rejected

The moderator is an attendant of the service's unit, enabled on this service's copy of the
roster (``shared.roster``), and never the review's own author (403 conflict_of_interest).

A moderator may change a decision later (approved <-> rejected): taking down a comment
approved by mistake must be possible. A review without a comment has nothing to moderate:
its ``moderation`` is null and it never enters the queue (its verdict and rating still
count in the stats).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from shared.errors import DomainError, Forbidden, InvalidTransition, NotFound
from shared.identity import Principal, real_name
from shared.messages import Event, Party, ReviewModerated, ReviewSubmitted
from shared.projection import RequestView as SharedView
from shared.roster import forbid_own

Verdict = Literal["approved", "rejected"]
Decision = Literal["approve", "reject"]
Moderation = Literal["screening", "pending", "flagged", "approved", "rejected"]
MODERATION_STATES: tuple[str, ...] = ("screening", "pending", "flagged", "approved", "rejected")
_DECIDED = {"approve": "approved", "reject": "rejected"}


class AlreadyReviewed(DomainError):
    """A citizen reviews an attendance once."""

    status, code, title = 409, "already_reviewed", "Already reviewed"
    meaning = "the request has a review already"


class RequestView(SharedView):
    """This service's rules on top of the shared view of a request."""

    def check_reviewable_by(self, who: Principal, *, already_reviewed: bool) -> None:
        self.check_visible(who)
        if who.sub != self.citizen.sub:
            raise Forbidden("only the citizen who made the request may review it")
        if self.snapshot.status != "concluded":
            raise InvalidTransition("a request can be reviewed once it is concluded")
        if already_reviewed:
            raise AlreadyReviewed("this request has already been reviewed")


@dataclass
class ModerationDecision:
    decision: Decision
    by: Party
    at: datetime
    reason: str | None = None


@dataclass
class Review:
    id: str
    request_id: str
    service_id: str
    org: str
    unit: str
    citizen: Party
    assignee: Party | None
    verdict: Verdict
    rating: int | None
    comment: str | None
    created_at: datetime
    moderation: Moderation | None
    flags: list[str] = field(default_factory=list)
    redacted_comment: str | None = None
    screened_at: datetime | None = None
    decision: ModerationDecision | None = None
    version: int = 1
    events: list[Event] = field(default_factory=list, repr=False, compare=False)

    @classmethod
    def submit(cls, review_id: str, request: RequestView, verdict: Verdict,
               rating: int | None, comment: str | None, now: datetime) -> Review:
        s = request.snapshot
        review = cls(
            id=review_id, request_id=request.id, service_id=s.service_id, org=s.org,
            unit=s.unit, citizen=s.citizen, assignee=s.assignee, verdict=verdict,
            rating=rating, comment=comment, created_at=now,
            moderation="screening" if comment else None,
        )
        review.events.append(ReviewSubmitted(
            request_id=request.id, occurred_at=now, review_id=review_id,
            service_id=s.service_id, verdict=verdict, rating=rating, citizen=s.citizen,
            assignee=s.assignee))
        return review

    @property
    def awaiting_screening(self) -> bool:
        return self.moderation == "screening"

    def screened(self, flags: list[str], redacted: str, now: datetime) -> None:
        if not self.awaiting_screening:
            raise InvalidTransition("this review is not awaiting screening")
        self.flags = list(flags)
        self.redacted_comment = redacted
        self.moderation = "flagged" if flags else "pending"
        self.screened_at = now
        self.version += 1

    def visible_to(self, who: Principal) -> bool:
        return who.sub == self.citizen.sub or (who.is_staff and who.org == self.org)

    def moderate(self, who: Principal, decision: Decision, reason: str | None,
                 now: datetime) -> bool:
        """Record a moderator's decision; False if it changes nothing (a repeat)."""
        if not self.visible_to(who):
            raise NotFound("review not found")
        forbid_own(who, self.citizen.sub)
        if not (who.has("attendant") and who.org == self.org and who.unit == self.unit):
            raise Forbidden("only an attendant of the service's unit may moderate its reviews")
        if self.moderation is None:
            raise InvalidTransition("a review without a comment has nothing to moderate")
        if self.awaiting_screening:
            raise InvalidTransition("this review is still being screened")
        outcome = _DECIDED[decision]
        if self.moderation == outcome:
            return False
        self.moderation = outcome  # type: ignore[assignment]
        actor = Party(sub=who.sub, name=who.display_name, email=who.email)
        self.decision = ModerationDecision(decision, actor, now, reason)
        self.version += 1
        self.events.append(ReviewModerated(
            request_id=self.request_id, occurred_at=now, review_id=self.id,
            decision=decision, citizen=self.citizen, actor=actor))
        return True

    @property
    def published_comment(self) -> str | None:
        """What the public may read: the comment with any personal data left out."""
        return self.redacted_comment if self.redacted_comment is not None else self.comment

    @property
    def author_first_name(self) -> str | None:
        """The author's first name, or None: never the sub (with gov.br, a CPF), a label,
        or a first word that is not a name (digits, an e-mail address)."""
        parts = real_name(self.citizen.name, self.citizen.sub).split()
        first = parts[0] if parts else ""
        if not first or len(first) > 40 or not first.replace("'", "").replace("-", "").isalpha():
            return None
        return first


@dataclass
class ServiceStats:
    """Every review of a service counts here, whatever happens to its comment."""

    service_id: str
    count: int = 0
    approved: int = 0
    rating_count: int = 0
    rating_sum: int = 0
    version: int = 0

    def add(self, verdict: Verdict, rating: int | None) -> None:
        self.count += 1
        self.approved += verdict == "approved"
        if rating is not None:
            self.rating_count += 1
            self.rating_sum += rating
        self.version += 1

    @property
    def average_rating(self) -> float | None:
        return self.rating_sum / self.rating_count if self.rating_count else None

    @property
    def approval_rate(self) -> float | None:
        return self.approved / self.count if self.count else None
