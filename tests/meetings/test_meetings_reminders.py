"""Reminders: kept in the store, fired by the scheduler tick at their time, once, and
never for a time the meeting no longer has."""

from __future__ import annotations

from typing import Any

import pytest

from services.meetings import reminders
from services.meetings.app import SERVICE
from shared.clock import FrozenClock
from shared.ids import new_id
from shared.messages import MeetingCanceled, MeetingReminderDue
from shared.tables import ConditionFailed
from tests.meetings.meetings_support import (
    ASSIGNEE,
    CITIZEN,
    at,
    concluded,
    feed,
    frozen,
    in_service,
    post,
    record_events,
    schedule,
    token,
)


@pytest.fixture
def clock() -> FrozenClock:
    return frozen()


def _tick(h: Any) -> int:
    return reminders.tick(h.platform.contexts["meetings"])


def _due(events: list[Any]) -> list[MeetingReminderDue]:
    return [e for e in events if isinstance(e, MeetingReminderDue)]


def test_reminder_fires_once_at_its_time(harness: Any, clock: FrozenClock,
                                         monkeypatch: Any) -> None:
    events = record_events(monkeypatch)
    rid = in_service(harness, new_id())
    m = schedule(harness, rid, at(clock, hours=2))
    assert _tick(harness) == 0
    clock.advance(minutes=89)
    assert _tick(harness) == 0                       # 31 minutes before: not yet
    clock.advance(minutes=1)
    assert _tick(harness) == 1                       # 30 minutes before
    assert _tick(harness) == 0                       # and only once
    [due] = _due(events)
    assert due.meeting_id == m["id"] and due.request_id == rid
    assert {p.sub for p in due.recipients} == {CITIZEN.sub, ASSIGNEE.sub}
    assert {p.email for p in due.recipients} == {CITIZEN.email, ASSIGNEE.email}


def test_reminder_minutes_are_configurable(make_harness: Any, clock: FrozenClock,
                                           monkeypatch: Any) -> None:
    h = make_harness(reminder_minutes=10)
    events = record_events(monkeypatch)
    rid = in_service(h, new_id())
    schedule(h, rid, at(clock, hours=1))
    clock.advance(minutes=49)
    assert _tick(h) == 0
    clock.advance(minutes=1)
    assert _tick(h) == 1 and len(_due(events)) == 1


def test_rescheduled_meeting_is_reminded_for_its_new_time_only(
        harness: Any, clock: FrozenClock, monkeypatch: Any) -> None:
    events = record_events(monkeypatch)
    rid = in_service(harness, new_id())
    m = schedule(harness, rid, at(clock, hours=2))
    r = harness.client.simulate_patch(f"/requests/{rid}/meetings/{m['id']}",
                                      json={"starts_at": at(clock, hours=5)},
                                      headers=token(harness, "assignee"))
    assert r.status_code == 200
    clock.advance(minutes=90)                        # the old reminder's time
    assert _tick(harness) == 0
    clock.advance(hours=3)                           # 30 minutes before the new start
    assert _tick(harness) == 1
    [due] = _due(events)
    assert (due.starts_at - clock.now()).total_seconds() == 30 * 60


def test_cancelled_meeting_gets_no_reminder(harness: Any, clock: FrozenClock,
                                            monkeypatch: Any) -> None:
    events = record_events(monkeypatch)
    rid = in_service(harness, new_id())
    m = schedule(harness, rid, at(clock, hours=2))
    post(harness, f"/requests/{rid}/meetings/{m['id']}/cancellation", {}, status=200)
    clock.advance(hours=2)
    assert _tick(harness) == 0 and _due(events) == []
    assert harness.table("meetings").query("REMINDER", index="gsi1").items == []


def test_meeting_nearer_than_the_lead_gets_no_reminder(harness: Any, clock: FrozenClock,
                                                       monkeypatch: Any) -> None:
    events = record_events(monkeypatch)
    rid = in_service(harness, new_id())
    schedule(harness, rid, at(clock, minutes=20))
    clock.advance(minutes=5)
    assert _tick(harness) == 0 and _due(events) == []


def test_late_tick_after_the_meeting_ended_sends_nothing(harness: Any, clock: FrozenClock,
                                                         monkeypatch: Any) -> None:
    events = record_events(monkeypatch)
    rid = in_service(harness, new_id())
    schedule(harness, rid, at(clock, hours=2), duration_minutes=15)
    clock.advance(hours=3)                           # the scheduler was down all along
    assert _tick(harness) == 0 and _due(events) == []
    assert harness.table("meetings").query("REMINDER", index="gsi1").items == []


def test_two_racing_ticks_send_it_once(harness: Any, clock: FrozenClock,
                                       monkeypatch: Any) -> None:
    events = record_events(monkeypatch)
    rid = in_service(harness, new_id())
    schedule(harness, rid, at(clock, hours=1))
    clock.advance(minutes=30)
    ctx = harness.platform.contexts["meetings"]
    [found] = harness.table("meetings").query("REMINDER", index="gsi1").items
    # Both ticks read the reminder before either commits.
    with ctx.uow() as first, ctx.uow() as second:
        assert reminders.fire(first, found, clock) and reminders.fire(second, found, clock)
        first.commit()
        with pytest.raises(ConditionFailed):
            second.commit()
    assert len(_due(events)) == 1


def test_concluding_the_request_cancels_pending_meetings(harness: Any, clock: FrozenClock,
                                                         monkeypatch: Any) -> None:
    events = record_events(monkeypatch)
    rid = in_service(harness, new_id())
    past = schedule(harness, rid, at(clock, minutes=10), duration_minutes=15)
    future = schedule(harness, rid, at(clock, days=1))
    clock.advance(minutes=30)                        # the first one is over
    feed(harness, concluded(rid))
    cancelled = [e for e in events if isinstance(e, MeetingCanceled)]
    assert [e.meeting_id for e in cancelled] == [future["id"]]
    r = harness.client.simulate_get(f"/requests/{rid}/meetings",
                                    headers=token(harness, "citizen"))
    status = {m["id"]: m["status"] for m in r.json["items"]}
    assert status == {past["id"]: "scheduled", future["id"]: "canceled"}
    clock.advance(days=1)
    assert _tick(harness) == 0
    # The attendant's time is free again.
    schedule(harness, in_service(harness, new_id()), at(clock, hours=1))


def test_the_tick_is_a_periodic_job_of_the_platform(harness: Any, clock: FrozenClock,
                                                    monkeypatch: Any) -> None:
    events = record_events(monkeypatch)
    jobs = SERVICE.periodic(harness.platform.contexts["meetings"])
    assert len(jobs) == 1
    assert len(harness.platform.periodic_jobs()) >= 1
    rid = in_service(harness, new_id())
    schedule(harness, rid, at(clock, hours=1))
    clock.advance(minutes=31)
    jobs[0]()
    assert len(_due(events)) == 1
