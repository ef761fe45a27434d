"""The meetings consumer: request events build the projection (newest request.version wins,
whatever the order of delivery) and a repeated delivery changes nothing."""

from __future__ import annotations

from typing import Any

import pytest

from shared.clock import FrozenClock
from shared.ids import new_id
from shared.messages import FollowupPosted, MeetingCanceled, Party
from tests.meetings.meetings_support import (
    OTHER_ASSIGNEE,
    analysis,
    approved,
    at,
    concluded,
    feed,
    frozen,
    post,
    record_events,
    schedule,
    submitted,
    view,
)


@pytest.fixture
def clock() -> FrozenClock:
    return frozen()


def _state(h: Any, rid: str) -> tuple[str, int]:
    item = view(h, rid)
    assert item is not None
    return item["request"]["status"], item["version"]


def test_duplicate_events_apply_once(harness: Any, clock: FrozenClock) -> None:
    rid = new_id()
    event = approved(rid)
    assert feed(harness, submitted(rid), event, event) == [True, True, False]
    assert _state(harness, rid) == ("in_service", 5)
    schedule(harness, rid, at(clock, hours=1))


@pytest.mark.parametrize("order", [(0, 1, 2), (2, 1, 0), (1, 2, 0), (2, 0, 1)])
def test_any_order_ends_in_service(harness: Any, clock: FrozenClock,
                                   order: tuple[int, ...]) -> None:
    rid = new_id()
    chain = [submitted(rid), analysis(rid), approved(rid)]
    assert feed(harness, *[chain[i] for i in order]) == [True, True, True]
    assert _state(harness, rid) == ("in_service", 5)
    schedule(harness, rid, at(clock, hours=1))


def test_a_late_older_event_never_reopens(harness: Any, clock: FrozenClock,
                                          monkeypatch: Any) -> None:
    rid = new_id()
    feed(harness, concluded(rid), approved(rid), submitted(rid))
    assert _state(harness, rid) == ("concluded", 9)
    r = post(harness, f"/requests/{rid}/meetings", {"starts_at": at(clock, hours=1),
                                                    "subject": "x"}, status=409)
    assert r.json["code"] == "invalid_transition"


def test_swapped_pair_of_conclusion_and_approval(harness: Any, clock: FrozenClock,
                                                 monkeypatch: Any) -> None:
    events = record_events(monkeypatch)
    a, b = new_id(), new_id()
    feed(harness, submitted(a), approved(a))
    m = schedule(harness, a, at(clock, hours=1))
    feed(harness, concluded(a), approved(a))        # conclusion, then a late approval
    feed(harness, concluded(b), approved(b))
    assert _state(harness, a) == _state(harness, b) == ("concluded", 9)
    cancelled = [e for e in events if isinstance(e, MeetingCanceled)]
    assert [e.meeting_id for e in cancelled] == [m["id"]]
    assert cancelled[0].reason == "Atendimento concluído"


def test_the_projection_names_who_acts(harness: Any, clock: FrozenClock) -> None:
    rid = new_id()
    feed(harness, submitted(rid), approved(rid, OTHER_ASSIGNEE))
    post(harness, f"/requests/{rid}/meetings", {"starts_at": at(clock, hours=1),
                                                "subject": "x"}, status=403)
    schedule(harness, rid, at(clock, hours=1), who="other_assignee")


def test_events_outside_the_contract_are_ignored(harness: Any) -> None:
    """The topology never sends them; one that reaches the queue anyway changes nothing
    and leaves no applied marker behind."""
    rid = new_id()
    note = FollowupPosted(request_id=rid, followup_id=new_id(), author=Party(sub="x"),
                          author_role="citizen")
    assert feed(harness, note) == [False]
    assert view(harness, rid) is None
