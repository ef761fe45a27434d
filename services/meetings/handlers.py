"""Commands and queries of the meetings service. Commands register their writes and events
in the unit of work and return the response; the caller commits (run_command, apply_once).
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from services.meetings import repository as repo
from services.meetings.contract import INVITE_ACTOR
from services.meetings.invites import InviteTokens, hash_matches, token_hash
from services.meetings.model import Guest, Meeting, RequestView
from services.meetings.rooms import JitsiRooms
from services.meetings.schemas import (
    GuestCreated,
    GuestIn,
    GuestOut,
    JoinOut,
    MeetingIn,
    MeetingOut,
    MeetingPage,
    MeetingPatch,
)
from shared.clock import Clock
from shared.errors import NotFound, ValidationFailed
from shared.identity import Principal
from shared.ids import new_id
from shared.logs import log as log_fields
from shared.messages import Event, Party, RequestEvent, RequestReassigned, RosterChanged
from shared.outbox import UnitOfWork
from shared.projection import page_with_view
from shared.roster import apply_roster, require_enabled
from shared.settings import Settings
from shared.tables import Table

log = logging.getLogger("atende.meetings")


def _visible_view(uow: UnitOfWork | Table, who: Principal, request_id: str) -> RequestView:
    """The request as ``who`` may see it; ``who`` already judged by the roster."""
    view = repo.get_view(uow, request_id)
    if view is None:
        raise NotFound("request not found")  # not (yet) known here: the same as hidden
    view.check_visible(who)
    return view


def _meeting(uow: UnitOfWork | Table, who: Principal, request_id: str, meeting_id: str
             ) -> tuple[RequestView, Meeting]:
    view = _visible_view(uow, who, request_id)
    meeting = repo.get_meeting(uow, request_id, meeting_id)
    if meeting is None:
        raise NotFound("meeting not found")
    return view, meeting


def _reminder_lead(settings: Settings) -> timedelta:
    return timedelta(minutes=settings.reminder_minutes)


# --- commands ----------------------------------------------------------------------


def schedule(uow: UnitOfWork, rooms: JitsiRooms, settings: Settings, who: Principal,
             request_id: str, body: MeetingIn, clock: Clock) -> MeetingOut:
    who = require_enabled(who, uow)
    view = _visible_view(uow, who, request_id)
    now = clock.now()
    meeting = Meeting.schedule(new_id(), view, who, subject=body.subject,
                               starts_at=body.starts_at, duration_minutes=body.duration_minutes,
                               room=rooms.new_room(), now=now)
    repo.occupy(uow, meeting)
    repo.set_reminder(uow, meeting, _reminder_lead(settings), now)
    out = MeetingOut.of(meeting)
    repo.save_meeting(uow, meeting)
    log_fields(log, "meeting scheduled", request_id=request_id, meeting_id=meeting.id)
    return out


def change(uow: UnitOfWork, settings: Settings, who: Principal, request_id: str,
           meeting_id: str, body: MeetingPatch, clock: Clock) -> MeetingOut:
    who = require_enabled(who, uow)
    view, meeting = _meeting(uow, who, request_id, meeting_id)
    now, previous = clock.now(), meeting.starts_at
    moved = meeting.change(view, who, now=now, subject=body.subject, starts_at=body.starts_at,
                           duration_minutes=body.duration_minutes)
    if moved:
        repo.occupy(uow, meeting, previous_start=previous)
        repo.set_reminder(uow, meeting, _reminder_lead(settings), now)
    out = MeetingOut.of(meeting)
    repo.save_meeting(uow, meeting)
    log_fields(log, "meeting changed", request_id=request_id, meeting_id=meeting_id,
               moved=moved)
    return out


def cancel(uow: UnitOfWork, who: Principal, request_id: str, meeting_id: str,
           reason: str | None, clock: Clock) -> MeetingOut:
    who = require_enabled(who, uow)
    view, meeting = _meeting(uow, who, request_id, meeting_id)
    actor = view.check_manager(who)
    meeting.cancel(view, actor, reason or None, clock.now())
    repo.release(uow, meeting)
    repo.drop_reminder(uow, meeting)
    out = MeetingOut.of(meeting)
    repo.save_meeting(uow, meeting)
    log_fields(log, "meeting cancelled", request_id=request_id, meeting_id=meeting_id)
    return out


def invite(uow: UnitOfWork, invites: InviteTokens, who: Principal, request_id: str,
           meeting_id: str, body: GuestIn, clock: Clock) -> GuestCreated:
    who = require_enabled(who, uow)
    view, meeting = _meeting(uow, who, request_id, meeting_id)
    if any(g.email.lower() == body.email.lower() for g in meeting.guests):
        raise ValidationFailed.field("email", "already invited to this meeting")
    guest = Guest(new_id(), body.name, body.email)
    meeting.invite(view, who, guest, clock.now())
    token = invites.token(guest.id)
    repo.add_guest(uow, meeting, guest, token_hash(token))
    repo.save_meeting(uow, meeting)
    # The job carries the guest's id only; it recomputes the token, never stored anywhere.
    uow.send_task("meetings", INVITE_ACTOR, {"guest_id": guest.id})
    log_fields(log, "guest invited", request_id=request_id, meeting_id=meeting_id,
               guest_id=guest.id)
    return GuestCreated(**GuestOut.of(guest).model_dump(), invite_token=token)


def join(uow: UnitOfWork, rooms: JitsiRooms, who: Principal, request_id: str,
         meeting_id: str, display_name: str, clock: Clock) -> JoinOut:
    who = require_enabled(who, uow)
    view, meeting = _meeting(uow, who, request_id, meeting_id)
    role = meeting.participant_role(view, who)
    participant = Party(sub=who.sub, name=display_name, email=who.email)
    meeting.join(view, participant, role, clock.now())
    link = rooms.link(meeting.room, user_id=who.sub, name=display_name,
                      moderator=role == "attendant", expires_at=meeting.ends_at)
    _publish(uow, meeting)
    log_fields(log, "meeting joined", request_id=request_id, meeting_id=meeting_id, role=role)
    return JoinOut.of(link)


def guest_join(uow: UnitOfWork, rooms: JitsiRooms, invites: InviteTokens, token: str,
               display_name: str, clock: Clock) -> JoinOut:
    guest_id = invites.guest_id(token)
    item = repo.get_guest(uow, guest_id) if guest_id else None
    if item is None or not hash_matches(token, item["token_hash"]):
        raise NotFound("invitation not found")
    meeting = repo.get_meeting(uow, item["request_id"], item["meeting_id"])
    if meeting is None or all(g.id != guest_id for g in meeting.guests):
        raise NotFound("invitation not found")
    guest = next(g for g in meeting.guests if g.id == guest_id)
    participant = Party(sub=guest.party.sub, name=display_name, email=guest.email)
    meeting.join(repo.get_view(uow, meeting.request_id), participant, "guest", clock.now())
    link = rooms.link(meeting.room, user_id=participant.sub, name=display_name,
                      moderator=False, expires_at=meeting.ends_at)
    _publish(uow, meeting)
    log_fields(log, "meeting joined", request_id=meeting.request_id, meeting_id=meeting.id,
               role="guest", guest_id=guest.id)
    return JoinOut.of(link)


def _publish(uow: UnitOfWork, meeting: Meeting) -> None:
    """Events of a command that changes no meeting state (a join)."""
    for event in meeting.events:
        uow.publish(event)
    meeting.events.clear()


# --- queries -----------------------------------------------------------------------


def list_meetings(table: Table, who: Principal, request_id: str, limit: int,
                  cursor: str | None) -> MeetingPage:
    who, view, items, next_cursor = page_with_view(
        table, who, cursor,
        lambda keys: repo.view_and_meetings(table, request_id, limit, keys),
        lambda judged: (_visible_view(table, judged, request_id),
                        repo.meetings(table, request_id, limit, cursor)))
    return MeetingPage(items=[MeetingOut.of(mt, view, who) for mt in items],
                       next_cursor=next_cursor)


# --- events ------------------------------------------------------------------------


def apply_event(uow: UnitOfWork, event: Event, clock: Clock) -> dict[str, Any]:
    """Keep the newest request snapshot: a duplicate or an older event arriving late
    changes nothing. When attendance ends, or passes to another attendant, its pending
    meetings are cancelled, which also frees the (previous) attendant's calendar: the new
    assignee schedules their own. Roster entries are kept to judge callers by."""
    if isinstance(event, RosterChanged):
        return {"applied": apply_roster(uow, event)}
    if not isinstance(event, RequestEvent):
        return {"applied": False}
    current = repo.get_view(uow, event.request_id)
    if current is not None and current.version >= event.request.version:
        return {"applied": False}
    view = RequestView(event.request_id, event.request)
    repo.put_view(uow, view, current)
    cancelled = 0
    if view.snapshot.status == "concluded":
        cancelled = _cancel_pending(uow, view, event.actor, clock, "Atendimento concluído")
    elif isinstance(event, RequestReassigned):
        cancelled = _cancel_pending(uow, view, event.actor, clock,
                                    "Atendimento transferido para outro atendente")
    return {"applied": True, "cancelled": cancelled}


def _cancel_pending(uow: UnitOfWork, view: RequestView, actor: Party, clock: Clock,
                    reason: str) -> int:
    now = clock.now()
    pending: list[Meeting] = []
    cursor: str | None = None
    while True:
        page, cursor = repo.meetings(uow.table, view.id, 100, cursor)
        pending += [mt for mt in page if mt.status == "scheduled" and now < mt.ends_at]
        if cursor is None:
            break
    for mt in pending:
        mt.cancel(view, actor, reason, now)
        repo.drop_reminder(uow, mt)
        repo.save_meeting(uow, mt)
    if pending:
        repo.release(uow, *pending)
    return len(pending)
