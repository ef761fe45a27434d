"""The review aggregate on its own: who may review and when, screening, moderation, what
the public page shows of a review, and the service's stats."""

from __future__ import annotations

from datetime import timedelta

import pytest
from pydantic import ValidationError

from services.reviews.model import AlreadyReviewed, RequestView, Review, ServiceStats
from services.reviews.schemas import PublishedReview, ReviewIn
from shared import messages as m
from shared.errors import Forbidden, InvalidTransition, NotFound
from shared.identity import Principal
from tests.domain.support import (
    ANALYST,
    ASSIGNEE,
    CITIZEN,
    ELSEWHERE,
    NOON,
    OTHER_CITIZEN,
    REGISTRAR,
    party,
    snapshot,
)

LATER = NOON + timedelta(hours=1)
COMMENT = "Fui bem atendida pelo Bruno, ligue 11 98765-4321 se precisar."


def concluded() -> RequestView:
    return RequestView("r1", snapshot("concluded", 4))


def review(comment: str | None = COMMENT, rating: int | None = 5) -> Review:
    r = Review.submit("rv1", concluded(), "approved", rating, comment, NOON)
    r.events.clear()
    return r


def screened(flags: tuple[str, ...] = ()) -> Review:
    r = review()
    r.screened(list(flags), COMMENT.replace("11 98765-4321", "[telefone]"), NOON)
    return r


@pytest.mark.parametrize(("who", "status", "reviewed", "error"), [
    (OTHER_CITIZEN, "concluded", False, NotFound),
    (ANALYST, "concluded", False, Forbidden),
    (CITIZEN, "in_service", False, InvalidTransition),
    (CITIZEN, "concluded", True, AlreadyReviewed),
], ids=["stranger", "staff", "not-concluded", "twice"])
def test_only_the_citizen_reviews_a_concluded_request_and_only_once(
        who: Principal, status: str, reviewed: bool, error: type[Exception]) -> None:
    view = RequestView("r1", snapshot(status, 4))
    with pytest.raises(error):
        view.check_reviewable_by(who, already_reviewed=reviewed)


def test_the_assignee_may_see_the_request_and_its_review_even_from_another_unit() -> None:
    """The shared view's assignee clause holds here too: an assignee outside the request's
    unit sees the request (told 403, not 404, on reviewing it) and its review."""
    view = RequestView("r1", snapshot("concluded", 4, assignee=ELSEWHERE))
    assert view.visible_to(ELSEWHERE)
    with pytest.raises(Forbidden):
        view.check_reviewable_by(ELSEWHERE, already_reviewed=False)
    r = Review.submit("rv1", view, "approved", 5, None, NOON)
    assert r.visible_to(ELSEWHERE)


def test_a_review_records_the_verdict_for_the_assignee() -> None:
    concluded().check_reviewable_by(CITIZEN, already_reviewed=False)
    r = Review.submit("rv1", concluded(), "rejected", 2, None, NOON)
    [event] = r.events
    assert isinstance(event, m.ReviewSubmitted)
    assert (event.verdict, event.rating) == ("rejected", 2)
    assert (event.citizen, event.assignee) == (party(CITIZEN), party(ASSIGNEE))


def test_a_comment_waits_for_screening_and_a_review_without_one_has_nothing_to_moderate(
        ) -> None:
    assert review().moderation == "screening"
    assert review(comment=None).moderation is None


@pytest.mark.parametrize(("flags", "state"), [((), "pending"), (("phone",), "flagged")])
def test_screening_puts_a_comment_in_the_queue_as_pending_or_flagged(
        flags: tuple[str, ...], state: str) -> None:
    r = screened(flags)
    assert (r.moderation, r.flags) == (state, list(flags))
    with pytest.raises(InvalidTransition):
        r.screened([], COMMENT, LATER)


@pytest.mark.parametrize("who", [ELSEWHERE, REGISTRAR], ids=["other-unit", "registrar"])
def test_only_an_attendant_of_the_services_unit_moderates(who: Principal) -> None:
    r = screened()
    with pytest.raises(Forbidden):
        r.moderate(who, "approve", None, LATER)
    assert r.moderation == "pending"


def test_the_citizen_cannot_moderate_their_own_review() -> None:
    with pytest.raises(Forbidden):
        screened().moderate(CITIZEN, "approve", None, LATER)


def test_there_is_nothing_to_moderate_before_screening_or_without_a_comment() -> None:
    with pytest.raises(InvalidTransition, match="screened"):
        review().moderate(ANALYST, "approve", None, LATER)
    with pytest.raises(InvalidTransition, match="nothing to moderate"):
        review(comment=None).moderate(ANALYST, "approve", None, LATER)


def test_a_decision_records_review_moderated_once_and_may_be_reversed() -> None:
    r = screened(("phone",))
    assert r.moderate(ANALYST, "approve", None, LATER)
    [event] = r.events
    assert isinstance(event, m.ReviewModerated)
    assert (event.decision, event.citizen, event.actor.sub) == ("approve", party(CITIZEN),
                                                                ANALYST.sub)
    assert not r.moderate(ANALYST, "approve", None, LATER)  # a repeat changes nothing
    assert len(r.events) == 1 and r.version == 3
    assert r.moderate(ANALYST, "reject", "Cita o atendente pelo nome", LATER)
    assert r.moderation == "rejected" and r.decision is not None
    assert r.decision.reason == "Cita o atendente pelo nome"


def test_an_approved_comment_is_published_with_the_authors_first_name_only() -> None:
    r = screened(("phone",))
    r.moderate(ANALYST, "approve", None, LATER)
    page = PublishedReview.of(r)
    assert page.author == "Carla"
    assert page.comment == "Fui bem atendida pelo Bruno, ligue [telefone] se precisar."
    assert CITIZEN.sub not in page.model_dump_json()


@pytest.mark.parametrize("name", ["  ", "52998224725", "carla"],
                         ids=["blank", "a-number", "the-sub"])
def test_an_author_without_a_real_name_is_published_without_one(name: str) -> None:
    r = screened()
    r.citizen = m.Party(sub="carla", name=name)
    r.moderate(ANALYST, "approve", None, LATER)
    assert PublishedReview.of(r).author is None


def test_stats_count_every_verdict_and_average_only_the_ratings_given() -> None:
    stats = ServiceStats("svc")
    assert (stats.average_rating, stats.approval_rate) == (None, None)
    for verdict, rating in (("approved", 5), ("approved", None), ("rejected", 2),
                            ("approved", 4)):
        stats.add(verdict, rating)  # type: ignore[arg-type]
    assert (stats.count, stats.average_rating, stats.approval_rate) == (4, 11 / 3, 0.75)


@pytest.mark.parametrize("body", [
    {"verdict": "approved", "rating": 0}, {"verdict": "approved", "rating": 6},
    {"verdict": "approved", "rating": "5"}, {"verdict": "maybe"},
    {"verdict": "approved", "comment": "x" * 2001}])
def test_a_review_body_out_of_bounds_is_refused(body: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        ReviewIn.model_validate(body)


def test_a_blank_comment_is_no_comment() -> None:
    assert ReviewIn.model_validate({"verdict": "approved", "comment": "   "}).comment is None
