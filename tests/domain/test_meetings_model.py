"""The meeting aggregate on its own: who manages and who joins, the join window, and the
events scheduling, moving, cancelling and inviting record."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from services.meetings.model import MAX_GUESTS, Guest, Meeting, OutsideJoinWindow, RequestView
from shared import messages as m
from shared.errors import (
    ConflictOfInterest,
    Forbidden,
    InvalidTransition,
    NotFound,
    ValidationFailed,
)
from shared.identity import Principal
from tests.domain.support import (
    ASSIGNEE,
    CITIZEN,
    COLLEAGUE,
    NOON,
    OTHER_CITIZEN,
    REGISTRAR,
    party,
    snapshot,
)

START = NOON + timedelta(hours=2)  # 30-minute meetings: 14:00 to 14:30 UTC


def view(status: str = "in_service", version: int = 3) -> RequestView:
    return RequestView("r1", snapshot(status, version))


def schedule(who: Principal = ASSIGNEE, starts_at: datetime = START,
             request: RequestView | None = None) -> Meeting:
    return Meeting.schedule("mt1", request or view(), who, subject="Conferir a planta",
                            starts_at=starts_at, duration_minutes=30, room="atende-sala",
                            now=NOON)


def fresh(meeting: Meeting) -> Meeting:
    meeting.events.clear()
    return meeting


def test_scheduling_records_the_meeting_for_the_citizen_and_the_assignee() -> None:
    meeting = schedule()
    assert meeting.status == "scheduled" and meeting.attendant == party(ASSIGNEE)
    assert meeting.ends_at == START + timedelta(minutes=30)
    [event] = meeting.events
    assert isinstance(event, m.MeetingScheduled)
    assert (event.citizen, event.attendant) == (party(CITIZEN), party(ASSIGNEE))
    assert (event.starts_at, event.ends_at) == (START, meeting.ends_at)


def test_a_meeting_must_start_in_the_future() -> None:
    with pytest.raises(ValidationFailed) as info:
        schedule(starts_at=NOON)
    assert info.value.errors == [{"field": "starts_at", "message": "must be in the future"}]


@pytest.mark.parametrize(("who", "status", "error"), [
    (COLLEAGUE, "in_service", Forbidden),
    (CITIZEN, "in_service", Forbidden),
    (OTHER_CITIZEN, "in_service", NotFound),
    (ASSIGNEE, "concluded", InvalidTransition),
], ids=["colleague", "citizen", "stranger", "after-conclusion"])
def test_only_the_assignee_schedules_and_only_while_in_service(
        who: Principal, status: str, error: type[Exception]) -> None:
    with pytest.raises(error):
        schedule(who, request=view(status, 4 if status == "concluded" else 3))


def test_staff_never_manage_meetings_on_a_request_of_their_own() -> None:
    own = RequestView("r1", snapshot("in_service", 3).model_copy(
        update={"citizen": party(ASSIGNEE)}))
    with pytest.raises(ConflictOfInterest):
        schedule(request=own)


@pytest.mark.parametrize(("offset", "opens"), [
    (timedelta(minutes=-16), False),
    (timedelta(minutes=-15), True),
    (timedelta(minutes=29, seconds=59), True),
    (timedelta(minutes=30), False),
], ids=["16-min-early", "15-min-early", "last-second", "at-the-end"])
def test_the_room_opens_15_minutes_before_the_start_and_closes_at_the_end(
        offset: timedelta, opens: bool) -> None:
    meeting = fresh(schedule())
    if opens:
        meeting.join(view(), party(CITIZEN), "citizen", START + offset)
        [event] = meeting.events
        assert isinstance(event, m.MeetingJoined) and event.role == "citizen"
    else:
        with pytest.raises(OutsideJoinWindow) as info:
            meeting.join(view(), party(CITIZEN), "citizen", START + offset)
        assert (info.value.status, info.value.code) == (409, "outside_join_window")
        assert meeting.events == []


def test_a_cancelled_meeting_cannot_be_joined_even_inside_the_window() -> None:
    meeting = schedule()
    meeting.cancel(view(), party(ASSIGNEE), "Cidadã pediu para remarcar", NOON)
    with pytest.raises(InvalidTransition) as info:
        meeting.join(view(), party(CITIZEN), "citizen", START)
    assert not isinstance(info.value, OutsideJoinWindow)


def test_a_cancellation_records_its_reason_and_happens_once() -> None:
    meeting = fresh(schedule())
    meeting.cancel(view(), party(ASSIGNEE), "Cidadã pediu para remarcar", NOON)
    assert meeting.status == "canceled" and meeting.version == 2
    [event] = meeting.events
    assert isinstance(event, m.MeetingCanceled)
    assert event.reason == "Cidadã pediu para remarcar"
    with pytest.raises(InvalidTransition):
        meeting.cancel(view(), party(ASSIGNEE), None, NOON)


def test_a_meeting_that_has_ended_can_no_longer_be_cancelled() -> None:
    meeting = schedule()
    with pytest.raises(InvalidTransition, match="ended"):
        meeting.cancel(view(), party(ASSIGNEE), None, START + timedelta(minutes=30))


def test_moving_a_meeting_records_where_it_was() -> None:
    meeting = fresh(schedule())
    later = START + timedelta(days=1)
    assert meeting.change(view(), ASSIGNEE, now=NOON, starts_at=later)
    [event] = meeting.events
    assert isinstance(event, m.MeetingRescheduled)
    assert (event.previous_starts_at, event.starts_at) == (START, later)


def test_a_new_subject_alone_moves_nothing_and_tells_nobody() -> None:
    meeting = fresh(schedule())
    assert not meeting.change(view(), ASSIGNEE, now=NOON, subject="Outra pauta")
    assert meeting.subject == "Outra pauta" and meeting.events == []


def test_a_meeting_under_way_cannot_be_moved() -> None:
    meeting = schedule()
    with pytest.raises(InvalidTransition, match="started"):
        meeting.change(view(), ASSIGNEE, now=START + timedelta(minutes=5),
                       starts_at=START + timedelta(days=1))


@pytest.mark.parametrize(("who", "role"), [(CITIZEN, "citizen"), (ASSIGNEE, "attendant")])
def test_the_citizen_and_the_assignee_join_from_the_request(who: Principal,
                                                            role: str) -> None:
    assert schedule().participant_role(view(), who) == role


@pytest.mark.parametrize("who", [COLLEAGUE, REGISTRAR], ids=["colleague", "registrar"])
def test_staff_who_may_see_the_request_still_may_not_join(who: Principal) -> None:
    with pytest.raises(Forbidden):
        schedule().participant_role(view(), who)


def test_a_meeting_takes_at_most_twenty_guests_and_their_events_carry_no_token() -> None:
    meeting = fresh(schedule())
    for n in range(MAX_GUESTS):
        meeting.invite(view(), ASSIGNEE, Guest(f"g{n}", f"Convidado {n}", f"g{n}@ex.com"),
                       NOON)
    assert isinstance(meeting.events[0], m.GuestInvited)
    assert meeting.events[0].guest == m.Party(sub="guest:g0", name="Convidado 0",
                                              email="g0@ex.com")
    with pytest.raises(InvalidTransition):
        meeting.invite(view(), ASSIGNEE, Guest("gx", "Mais um", "gx@ex.com"), NOON)
    assert len(meeting.guests) == MAX_GUESTS


def test_a_reminder_goes_to_the_citizen_and_the_attendant() -> None:
    meeting = fresh(schedule())
    meeting.remind(view(), START - timedelta(minutes=30))
    [event] = meeting.events
    assert isinstance(event, m.MeetingReminderDue)
    assert event.recipients == [party(CITIZEN), party(ASSIGNEE)]
