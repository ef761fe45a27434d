"""Commands of the reviews service. Each registers its writes and events in the unit of
work and returns the response; the caller commits (run_command, apply_once)."""

from __future__ import annotations

import logging

from services.reviews import repository
from services.reviews.contract import SCREEN_ACTOR
from services.reviews.metrics import count_screening
from services.reviews.model import RequestView, Review
from services.reviews.schemas import ModerationIn, ReviewIn, ReviewOut
from services.reviews.screening import screen
from shared.clock import Clock
from shared.errors import NotFound
from shared.identity import Principal
from shared.ids import new_id
from shared.logs import correlation_id
from shared.messages import RequestEvent, RosterChanged
from shared.outbox import UnitOfWork
from shared.roster import apply_roster, require_enabled

log = logging.getLogger("atende.reviews")


def submit_review(uow: UnitOfWork, who: Principal, request_id: str, body: ReviewIn,
                  clock: Clock) -> ReviewOut:
    who = require_enabled(who, uow)
    request = repository.get_view(uow, request_id)
    if request is None:
        raise NotFound("request not found")
    reviewed = uow.get(*repository.marker_key(request_id)) is not None
    request.check_reviewable_by(who, already_reviewed=reviewed)
    review = Review.submit(new_id(), request, body.verdict, body.rating, body.comment,
                           clock.now())
    stats = repository.get_stats(uow, review.service_id)
    stats.add(review.verdict, review.rating)
    if review.awaiting_screening:
        # Queued first: the relay hands entries over in order, so the screening job does
        # not wait behind other services' deliveries.
        uow.send_task("reviews", SCREEN_ACTOR,
                      {"review_id": review.id, "correlation_id": correlation_id.get()})
    repository.add_marker(uow, review)
    repository.save_review(uow, review)
    repository.save_stats(uow, stats)
    return ReviewOut.of(review)


def screen_review(uow: UnitOfWork, review_id: str, clock: Clock) -> bool:
    """Screen a review still awaiting it; a repeat (or a stale job) does nothing."""
    review = repository.get_review(uow, review_id)
    if review is None or not review.awaiting_screening or review.comment is None:
        return False
    result = screen(review.comment)
    review.screened(list(result.flags), result.redacted, clock.now())
    repository.save_review(uow, review)
    log.info("review screened", extra={"fields": {"review_id": review_id,
                                                  "flags": list(result.flags)}})
    count_screening(result.flags)
    return True


def moderate_review(uow: UnitOfWork, who: Principal, review_id: str, body: ModerationIn,
                    clock: Clock) -> ReviewOut:
    who = require_enabled(who, uow)
    review = repository.get_review(uow, review_id)
    if review is None:
        raise NotFound("review not found")
    if review.moderate(who, body.decision, body.reason, clock.now()):
        repository.save_review(uow, review)
    return ReviewOut.of(review)


def apply_request_event(uow: UnitOfWork, event: RequestEvent) -> None:
    """Keep the newest snapshot: a duplicate or an older event arriving late changes
    nothing."""
    current = repository.get_view(uow, event.request_id)
    if current is not None and current.version >= event.request.version:
        return
    repository.put_view(uow, RequestView(event.request_id, event.request), current)


def apply_roster_event(uow: UnitOfWork, event: RosterChanged) -> None:
    apply_roster(uow, event)
