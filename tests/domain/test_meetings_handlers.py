"""The meetings service's commands and its request-event consumer against a unit of work:
the projection it keeps, the assignee's calendar, reminders, guests' invitations, and the
meetings the end of an attendance cancels."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import jwt
import pytest

from services.meetings import handlers
from services.meetings import repository as repo
from services.meetings.contract import INVITE_ACTOR
from services.meetings.invites import InviteTokens
from services.meetings.model import OutsideJoinWindow
from services.meetings.rooms import JitsiRooms
from services.meetings.schemas import CancellationIn, GuestIn, MeetingIn, MeetingOut
from shared import messages as m
from shared.clock import iso
from shared.errors import AttendantNotEnabled, Conflict, Forbidden, NotFound
from shared.settings import Settings
from tests.domain.support import (
    ASSIGNEE,
    CITIZEN,
    COLLEAGUE,
    ELSEWHERE,
    FOREIGN,
    NOON,
    OTHER_CITIZEN,
    ROSTER,
    Store,
    analysis,
    concluded,
    enrolled,
    in_service,
    reassigned,
)

RID = "r1"
START = NOON + timedelta(hours=2)
JITSI_SECRET = "segredo-do-jitsi-com-32-bytes-ok!"
ROOMS = JitsiRooms("https://meet.example.gov.br", "atende", JITSI_SECRET)
INVITES = InviteTokens("segredo-dos-convites")


@pytest.fixture
def store(store: Store) -> Store:
    """A store with its copy of the roster and a request in service, as the events told."""
    store.feed(lambda uow, e: handlers.apply_event(uow, e, store.clock), *ROSTER,
               *in_service(RID))
    return store


def schedule(store: Store, settings: Settings, starts_at: str, minutes: int = 30
             ) -> MeetingOut:
    body = MeetingIn.model_validate({"starts_at": starts_at, "duration_minutes": minutes,
                                     "subject": "Conferir a planta"})
    return store.run(lambda uow: handlers.schedule(uow, ROOMS, settings, ASSIGNEE, RID, body,
                                                   store.clock))


def test_an_older_request_event_arriving_late_changes_nothing(store: Store) -> None:
    [result] = store.feed(lambda uow, e: handlers.apply_event(uow, e, store.clock),
                          analysis(RID))
    assert result == {"applied": False}
    view = repo.get_view(store.table, RID)
    assert view is not None and view.snapshot.status == "in_service"


def test_the_assignees_calendar_refuses_an_overlapping_meeting(store: Store,
                                                               settings: Settings) -> None:
    schedule(store, settings, iso(START))
    body = MeetingIn.model_validate({"starts_at": iso(START + timedelta(minutes=29)),
                                     "subject": "Outra"})
    store.refused(lambda uow: handlers.schedule(uow, ROOMS, settings, ASSIGNEE, RID, body,
                                                store.clock), Conflict)
    schedule(store, settings, iso(START + timedelta(minutes=30)))  # right after: fine


def test_cancelling_a_meeting_frees_its_time(store: Store, settings: Settings) -> None:
    first = schedule(store, settings, iso(START))
    reason = CancellationIn.model_validate({"reason": "   "}).reason
    store.run(lambda uow: handlers.cancel(uow, ASSIGNEE, RID, first.id, reason, store.clock))
    [event] = store.events(m.MeetingCanceled)
    assert event.reason is None  # a blank reason is no reason
    assert schedule(store, settings, iso(START)).status == "scheduled"


def test_a_meeting_gets_one_reminder_before_it_and_none_when_too_near(
        store: Store, settings: Settings) -> None:
    far = schedule(store, settings, iso(START))
    reminder = repo.get_reminder(store.table, RID, far.id)
    assert reminder is not None
    assert reminder["due_at"] == iso(START - timedelta(minutes=settings.reminder_minutes))
    near = schedule(store, settings, iso(NOON + timedelta(minutes=20)))
    assert repo.get_reminder(store.table, RID, near.id) is None


def test_the_end_of_the_attendance_cancels_the_meetings_still_ahead(
        store: Store, settings: Settings) -> None:
    ahead = schedule(store, settings, iso(START))
    [result] = store.feed(lambda uow, e: handlers.apply_event(uow, e, store.clock),
                          concluded(RID))
    assert result == {"applied": True, "cancelled": 1}
    meeting = repo.get_meeting(store.table, RID, ahead.id)
    assert meeting is not None and meeting.status == "canceled"
    [event] = store.events(m.MeetingCanceled)
    assert event.reason == "Atendimento concluído"
    assert repo.get_reminder(store.table, RID, ahead.id) is None


def test_a_reassignment_cancels_the_previous_assignees_meetings_and_frees_their_time(
        store: Store, settings: Settings) -> None:
    ahead = schedule(store, settings, iso(START))
    [result] = store.feed(lambda uow, e: handlers.apply_event(uow, e, store.clock),
                          reassigned(RID, COLLEAGUE))
    assert result == {"applied": True, "cancelled": 1}
    [event] = store.events(m.MeetingCanceled)
    assert event.meeting_id == ahead.id
    assert event.reason == "Atendimento transferido para outro atendente"
    assert store.table.query(f"ATT#{ASSIGNEE.sub}", prefix="SLOT#").items == []
    body = MeetingIn.model_validate({"starts_at": iso(START), "subject": "Conferir",
                                     "duration_minutes": 30})
    store.refused(lambda uow: handlers.schedule(uow, ROOMS, settings, ASSIGNEE, RID, body,
                                                store.clock), Forbidden)
    mine = store.run(lambda uow: handlers.schedule(uow, ROOMS, settings, COLLEAGUE, RID, body,
                                                   store.clock))
    assert mine.status == "scheduled"


def test_an_attendant_the_roster_copy_disables_is_refused(store: Store,
                                                          settings: Settings) -> None:
    store.feed(lambda uow, e: handlers.apply_event(uow, e, store.clock),
               enrolled(ASSIGNEE, enabled=False, version=2))
    body = MeetingIn.model_validate({"starts_at": iso(START), "subject": "Conferir"})
    store.refused(lambda uow: handlers.schedule(uow, ROOMS, settings, ASSIGNEE, RID, body,
                                                store.clock), AttendantNotEnabled)
    store.feed(lambda uow, e: handlers.apply_event(uow, e, store.clock),
               enrolled(ASSIGNEE, enabled=True, version=1))  # late and older: ignored
    store.refused(lambda uow: handlers.schedule(uow, ROOMS, settings, ASSIGNEE, RID, body,
                                                store.clock), AttendantNotEnabled)


def test_joining_16_minutes_before_the_start_is_refused_and_publishes_nothing(
        store: Store, settings: Settings) -> None:
    meeting = schedule(store, settings, iso(START))
    store.clock.advance(hours=2, minutes=-16)
    error = store.refused(lambda uow: handlers.join(uow, ROOMS, CITIZEN, RID, meeting.id,
                                                    "Carla", store.clock), OutsideJoinWindow)
    assert error.code == "outside_join_window"
    assert store.events(m.MeetingJoined) == []


def test_the_assignee_joins_as_moderator_until_the_meeting_ends(store: Store,
                                                                settings: Settings) -> None:
    meeting = schedule(store, settings, iso(START))
    store.clock.advance(hours=2, minutes=-15)
    link = store.run(lambda uow: handlers.join(uow, ROOMS, ASSIGNEE, RID, meeting.id,
                                               "Bruno", store.clock))
    assert link.expires_at == START + timedelta(minutes=30)
    [token] = parse_qs(urlsplit(link.url).query)["jwt"]
    claims = jwt.decode(token, JITSI_SECRET, algorithms=["HS256"], audience="jitsi",
                        options={"verify_exp": False})  # the test's clock is not today
    assert claims["context"]["user"]["moderator"] is True
    assert claims["exp"] == int(link.expires_at.timestamp())
    [event] = store.events(m.MeetingJoined)
    assert (event.participant.sub, event.role) == (ASSIGNEE.sub, "attendant")


def test_a_guest_is_mailed_an_invitation_and_joins_with_its_token_only(
        store: Store, settings: Settings) -> None:
    meeting = schedule(store, settings, iso(START))
    guest = store.run(lambda uow: handlers.invite(
        uow, INVITES, ASSIGNEE, RID, meeting.id,
        GuestIn(name="Gil Engenheiro", email="gil@example.com"), store.clock))
    [job] = [e for e in store.outbox() if e.get("actor") == INVITE_ACTOR]
    assert job["event"] == {"guest_id": guest.id}  # the token is never stored
    assert guest.invite_token not in str(store.rows())
    store.clock.advance(hours=2)
    link = store.run(lambda uow: handlers.guest_join(uow, ROOMS, INVITES, guest.invite_token,
                                                     "Gil", store.clock))
    stored = repo.get_meeting(store.table, RID, meeting.id)
    assert stored is not None and link.room == stored.room
    forged = guest.invite_token[:-2] + "xx"
    store.refused(lambda uow: handlers.guest_join(uow, ROOMS, INVITES, forged, "Gil",
                                                  store.clock), NotFound)


def test_a_request_the_service_has_not_heard_of_is_not_found(store: Store,
                                                             settings: Settings) -> None:
    body = MeetingIn.model_validate({"starts_at": iso(START), "subject": "Conferir"})
    store.refused(lambda uow: handlers.schedule(uow, ROOMS, settings, ASSIGNEE, "r-unknown",
                                                body, store.clock), NotFound)


def test_a_first_page_of_meetings_and_the_view_are_one_read_across_the_reminders(
        store: Store, settings: Settings) -> None:
    """The meetings' keys sort before the view's, their reminders between: one read holds
    a first page and the view; a longer list pages as before; the view still decides who
    sees the meetings."""
    first = schedule(store, settings, iso(START))
    second = schedule(store, settings, iso(START + timedelta(hours=1)))
    assert repo.get_reminder(store.table, RID, first.id) is not None  # read past, not kept
    # Listed by id, as their keys sort: two made within one tick of the id's clock may
    # sort either way.
    ids = sorted([first.id, second.id])
    both, along = repo.view_and_meetings(store.table, RID, 100, [("ROSTER#x", "none")])
    assert both is not None and along == [None]
    view, found = both
    assert view.id == RID and [mt.id for mt in found] == ids
    assert repo.view_and_meetings(store.table, RID, 1)[0] is None  # more than a page
    one = handlers.list_meetings(store.table, ASSIGNEE, RID, 1, None)
    assert [mt.id for mt in one.items] == ids[:1] and one.next_cursor is not None
    rest = handlers.list_meetings(store.table, ASSIGNEE, RID, 1, one.next_cursor)
    assert [mt.id for mt in rest.items] == ids[1:]
    page = handlers.list_meetings(store.table, ASSIGNEE, RID, 100, None)
    assert [mt.id for mt in page.items] == ids and page.next_cursor is None
    assert page.items == [MeetingOut.of(mt, view, ASSIGNEE) for mt in found]
    for outsider in (OTHER_CITIZEN, ELSEWHERE, FOREIGN):
        with pytest.raises(NotFound):
            handlers.list_meetings(store.table, outsider, RID, 100, None)
    with pytest.raises(NotFound):
        handlers.list_meetings(store.table, ASSIGNEE, "unknown", 100, None)
