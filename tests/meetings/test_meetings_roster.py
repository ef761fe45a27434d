"""The meetings service judges callers by its own copy of the roster (RosterChanged events),
refuses staff on a request of their own, and learns reassignments from RequestReassigned:
the previous assignee's pending meetings are cancelled and the new one manages them."""

from __future__ import annotations

from typing import Any

import pytest

from shared.clock import FrozenClock
from shared.ids import new_id
from shared.messages import MeetingCanceled, Party, RequestApproved, RequestReassigned
from tests.meetings.meetings_support import (
    ASSIGNEE,
    CITIZEN,
    ORG,
    OTHER_ASSIGNEE,
    UNIT,
    analysis,
    at,
    enrol,
    feed,
    frozen,
    in_service,
    record_events,
    schedule,
    snapshot,
    submitted,
    token,
)


@pytest.fixture
def clock() -> FrozenClock:
    return frozen()


def _reassigned(rid: str, to: Party, version: int = 6) -> RequestReassigned:
    return RequestReassigned(request_id=rid, request=snapshot("in_service", version, to),
                             actor=ASSIGNEE, previous=ASSIGNEE, reason="Licença.")


def test_disabled_attendant_cannot_schedule_nor_list_meetings(harness: Any,
                                                              clock: FrozenClock) -> None:
    rid = in_service(harness, new_id())
    schedule(harness, rid, at(clock, hours=2))
    enrol(harness, ASSIGNEE.sub, ORG, UNIT, enabled=False, version=2)
    headers = token(harness, "assignee")  # feeds version 1 again: older, so no change
    r = harness.client.simulate_get(f"/requests/{rid}/meetings", headers=headers)
    assert r.status_code == 403 and r.json["code"] == "attendant_not_enabled"
    r = harness.client.simulate_post(f"/requests/{rid}/meetings", headers=headers,
                                     json={"starts_at": at(clock, hours=5), "subject": "X"})
    assert r.status_code == 403 and r.json["code"] == "attendant_not_enabled"


def test_an_older_roster_copy_arriving_late_does_not_re_enable(harness: Any,
                                                               clock: FrozenClock) -> None:
    rid = in_service(harness, new_id())
    enrol(harness, ASSIGNEE.sub, ORG, UNIT, enabled=False, version=3)
    enrol(harness, ASSIGNEE.sub, ORG, UNIT, enabled=True, version=2)  # late, older
    # token() feeds version 1 (older still): the copy stays disabled.
    r = harness.client.simulate_get(f"/requests/{rid}/meetings",
                                    headers=token(harness, "assignee"))
    assert r.status_code == 403 and r.json["code"] == "attendant_not_enabled"


def test_staff_may_not_manage_meetings_of_their_own_request(harness: Any,
                                                             clock: FrozenClock) -> None:
    """Even if the request's data says they are its assignee (made before the rule)."""
    rid = new_id()
    own = RequestApproved(request_id=rid, request=snapshot("in_service", 5, CITIZEN),
                          actor=ASSIGNEE)
    feed(harness, submitted(rid), analysis(rid), own)
    enrol(harness, CITIZEN.sub, ORG, UNIT)
    both = harness.auth(harness.token(CITIZEN.sub, "citizen", "attendant", org=ORG,
                                      unit=UNIT, name=CITIZEN.name))
    r = harness.client.simulate_post(f"/requests/{rid}/meetings", headers=both,
                                     json={"starts_at": at(clock, hours=2), "subject": "Eu"})
    assert r.status_code == 403 and r.json["code"] == "conflict_of_interest"


def test_reassignment_cancels_the_previous_assignees_pending_meetings(
        harness: Any, clock: FrozenClock, monkeypatch: Any) -> None:
    rid = in_service(harness, new_id())
    first = schedule(harness, rid, at(clock, hours=2))
    second = schedule(harness, rid, at(clock, days=1))
    events = record_events(monkeypatch)
    feed(harness, _reassigned(rid, OTHER_ASSIGNEE))
    cancelled = [e for e in events if isinstance(e, MeetingCanceled)]
    assert sorted(e.meeting_id for e in cancelled) == sorted([first["id"], second["id"]])
    assert all(e.reason == "Atendimento transferido para outro atendente" for e in cancelled)
    # A repeat delivery changes nothing more.
    feed(harness, _reassigned(rid, OTHER_ASSIGNEE))
    assert len([e for e in events if isinstance(e, MeetingCanceled)]) == 2
    # The new assignee manages; the previous one no longer does, and their slot is free.
    schedule(harness, rid, at(clock, hours=2), who="assignee", status=403)
    schedule(harness, rid, at(clock, hours=2), who="other_assignee")
    other = in_service(harness, new_id())
    schedule(harness, other, at(clock, hours=2))
