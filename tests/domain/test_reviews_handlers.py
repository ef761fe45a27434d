"""The reviews service's commands against a unit of work: a review once per request, the
screening job it queues for itself, moderation, the queue and the public page."""

from __future__ import annotations

import pytest

from services.reviews import handlers, repository, views
from services.reviews.contract import SCREEN_ACTOR
from services.reviews.model import AlreadyReviewed
from services.reviews.schemas import ModerationIn, ReviewIn, ReviewOut
from shared import messages as m
from shared.errors import ConflictOfInterest, InvalidTransition, NotFound
from shared.identity import Principal
from shared.outbox import UnitOfWork
from tests.domain.support import (
    ANALYST,
    CITIZEN,
    ROSTER,
    SERVICE_ID,
    Store,
    concluded,
    enrolled,
    in_service,
    snapshot,
)

CPF_COMMENT = "Resolveram rápido. Meu CPF é 529.982.247-25."


def apply(uow: UnitOfWork, event: m.Event) -> None:
    if isinstance(event, m.RosterChanged):
        handlers.apply_roster_event(uow, event)
    else:
        assert isinstance(event, m.RequestEvent)
        handlers.apply_request_event(uow, event)


@pytest.fixture
def store(store: Store) -> Store:
    """A store with this service's copy of the roster."""
    store.feed(apply, *ROSTER)
    return store


def finish(store: Store, *rids: str) -> None:
    for rid in rids:
        store.feed(apply, *in_service(rid), concluded(rid))


def submit(store: Store, rid: str, body: dict[str, object], who: Principal = CITIZEN
           ) -> ReviewOut:
    review = ReviewIn.model_validate(body)
    return store.run(lambda uow: handlers.submit_review(uow, who, rid, review, store.clock))


def screen_jobs(store: Store) -> list[str]:
    return [e["event"]["review_id"] for e in store.outbox() if e.get("actor") == SCREEN_ACTOR]


def test_a_request_is_reviewed_once_and_counted_once(store: Store) -> None:
    finish(store, "r1")
    submit(store, "r1", {"verdict": "approved", "rating": 5})
    store.refused(lambda uow: handlers.submit_review(
        uow, CITIZEN, "r1", ReviewIn(verdict="rejected"), store.clock), AlreadyReviewed)
    stats = repository.get_stats(store.table, SERVICE_ID)
    assert (stats.count, stats.approved) == (1, 1)


def test_a_request_not_yet_concluded_here_cannot_be_reviewed(store: Store) -> None:
    store.feed(apply, *in_service("r1"))
    store.refused(lambda uow: handlers.submit_review(
        uow, CITIZEN, "r1", ReviewIn(verdict="approved"), store.clock), InvalidTransition)
    store.refused(lambda uow: handlers.submit_review(
        uow, CITIZEN, "r-unknown", ReviewIn(verdict="approved"), store.clock), NotFound)


def test_only_a_review_with_a_comment_queues_its_screening(store: Store) -> None:
    finish(store, "r1", "r2")
    silent = submit(store, "r1", {"verdict": "approved"})
    spoken = submit(store, "r2", {"verdict": "approved", "comment": CPF_COMMENT})
    assert silent.moderation is None and spoken.moderation == "screening"
    assert screen_jobs(store) == [spoken.id]
    assert [e.review_id for e in store.events(m.ReviewSubmitted)] == [silent.id, spoken.id]


def test_screening_flags_personal_data_and_keeps_a_redacted_copy_once(store: Store) -> None:
    finish(store, "r1")
    out = submit(store, "r1", {"verdict": "approved", "comment": CPF_COMMENT})
    assert store.run(lambda uow: handlers.screen_review(uow, out.id, store.clock))
    review = repository.get_review(store.table, out.id)
    assert review is not None
    assert (review.moderation, review.flags) == ("flagged", ["cpf"])
    assert review.redacted_comment == "Resolveram rápido. Meu CPF é [CPF]."
    assert not store.run(lambda uow: handlers.screen_review(uow, out.id, store.clock))


def test_the_queue_and_the_public_page_follow_moderation(store: Store) -> None:
    finish(store, "r1", "r2", "r3")
    flagged = submit(store, "r1", {"verdict": "approved", "rating": 4,
                                   "comment": CPF_COMMENT})
    kept = submit(store, "r2", {"verdict": "rejected", "rating": 1,
                                "comment": "Demorou demais."})
    submit(store, "r3", {"verdict": "approved"})  # no comment: counted, never listed
    for out in (flagged, kept):
        store.run(lambda uow, out=out: handlers.screen_review(uow, out.id, store.clock))
    queue = views.moderation_queue(store.table, ANALYST, "flagged", None, 20, None)
    assert [r.id for r in queue.items] == [flagged.id]
    for out, decision in ((flagged, "approve"), (kept, "reject")):
        store.run(lambda uow, out=out, decision=decision: handlers.moderate_review(
            uow, ANALYST, out.id, ModerationIn(decision=decision), store.clock))
    page = views.published(store.table, SERVICE_ID, 20, None)
    [shown] = page.items
    assert (shown.id, shown.author) == (flagged.id, "Carla")
    assert shown.comment == "Resolveram rápido. Meu CPF é [CPF]."
    assert (page.count, page.average_rating, page.approval_rate) == (3, 2.5, 2 / 3)


def test_a_moderator_who_wrote_the_review_is_refused(store: Store) -> None:
    # An attendant of the unit who was also the citizen of the request.
    helena = Principal(sub=CITIZEN.sub, name=CITIZEN.name, roles=("citizen", "attendant"),
                       org=ANALYST.org, unit=ANALYST.unit)
    store.feed(apply, enrolled(helena))
    finish(store, "r1")
    out = submit(store, "r1", {"verdict": "approved", "comment": "Muito bom."}, who=helena)
    store.run(lambda uow: handlers.screen_review(uow, out.id, store.clock))
    error = store.refused(lambda uow: handlers.moderate_review(
        uow, helena, out.id, ModerationIn(decision="approve"), store.clock), ConflictOfInterest)
    assert error.code == "conflict_of_interest"


def test_the_request_view_follows_the_newest_event_only(store: Store) -> None:
    finish(store, "r1")
    late = m.AnalysisStarted(request_id="r1", request=snapshot("in_analysis", 2),
                             actor=concluded("r1").actor)
    store.feed(apply, late)
    view = repository.get_view(store.table, "r1")
    assert view is not None and view.snapshot.status == "concluded"
