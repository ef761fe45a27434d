"""The reviews service's projection of request events: duplicates and late arrivals end
right, because the newest request.version wins."""

from __future__ import annotations

from typing import Any

from services.reviews.app import SERVICE
from shared.ids import new_id
from shared.messages import FollowupPosted, Party
from tests.reviews.reviews_support import approved, concluded, feed, people, review, submitted


def _status(harness, rid: str) -> tuple[str, int]:
    item = harness.table("reviews").get(f"REQUEST#{rid}", "VIEW")
    return item["request"]["status"], item["version"]


def test_duplicates_apply_once(harness) -> None:
    rid = new_id()
    event = submitted(rid)
    assert feed(harness, event, event) == [True, False]
    assert _status(harness, rid) == ("submitted", 1)


def test_out_of_order_delivery_keeps_the_newest(harness) -> None:
    rid = new_id()
    late, newest = submitted(rid), concluded(rid)
    assert feed(harness, newest, late, approved(rid), newest) == [True, True, True, False]
    assert _status(harness, rid) == ("concluded", 6)
    p = people(harness)
    assert review(harness, rid, p["citizen"]).status_code == 201


def test_in_order_and_swapped_order_end_the_same(harness) -> None:
    a, b = new_id(), new_id()
    feed(harness, submitted(a), concluded(a))
    feed(harness, concluded(b), submitted(b))
    assert _status(harness, a) == _status(harness, b) == ("concluded", 6)


def test_a_stale_event_does_not_undo_the_conclusion(harness) -> None:
    p = people(harness)
    rid = new_id()
    feed(harness, submitted(rid), concluded(rid), approved(rid))
    assert review(harness, rid, p["citizen"]).status_code == 201


def test_other_events_are_ignored(harness) -> None:
    ctx = harness.platform.contexts["reviews"]
    event = FollowupPosted(request_id="r1", followup_id="f1", author=Party(sub="ana"),
                           author_role="citizen")
    assert _consumer(ctx)(event.model_dump(mode="json")) is False
    assert harness.table("reviews").get("REQUEST#r1", "VIEW") is None


def test_events_through_the_broker_reach_the_projection(harness) -> None:
    rid = new_id()
    actor = harness.platform.actors["reviews"]
    for event in (concluded(rid), submitted(rid)):
        actor.send(event.model_dump(mode="json"))
    harness.drain()
    assert _status(harness, rid) == ("concluded", 6)


def _consumer(ctx: Any) -> Any:
    """The reviews service's queue consumer, as the bootstrap binds it."""
    return SERVICE.consumer(ctx)
