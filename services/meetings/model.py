"""This service's view of a request and the meeting aggregate. Pure: no storage, no HTTP.

Who may do what, from the projection of the request events::

    see      the citizen, the assignee, attendants of the request's org and unit,
             registrars of its org                                          (others: 404)
    manage   schedule, change, cancel, invite: the assignee, request in_service (409 / 403);
             never staff on a request of their own (403 conflict_of_interest)
    join     the meeting's attendant (or the assignee) and the citizen; guests by invite;
             from 15 minutes before the start to the end (409 outside_join_window),
             never once cancelled (409)

Before any of it, an attendant is judged by this service's copy of the roster
(``shared.roster``): not enabled, 403 ``attendant_not_enabled``. A reassignment cancels the
previous assignee's pending meetings (handlers.apply_event).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from shared import messages as m
from shared.errors import DomainError, Forbidden, InvalidTransition, ValidationFailed
from shared.identity import Principal
from shared.messages import Party
from shared.projection import RequestView as SharedView
from shared.roster import forbid_own

JOIN_EARLY = timedelta(minutes=15)
MAX_GUESTS = 20
Role = Literal["attendant", "citizen", "guest"]


class OutsideJoinWindow(DomainError):
    """Joining opens a little before the start and closes at the end."""

    status, code, title = 409, "outside_join_window", "Outside the join window"
    meaning = "joining opens 15 minutes before the start and closes at the end"


class RequestView(SharedView):
    """This service's rules on top of the shared view of a request."""

    def check_manager(self, who: Principal) -> Party:
        """The assignee, as the party who schedules; refuses everyone else, and staff
        on a request of their own first."""
        self.check_visible(who)
        forbid_own(who, self.citizen.sub)
        if self.snapshot.status != "in_service":
            raise InvalidTransition(
                f"meetings are managed while the request is in_service, "
                f"not {self.snapshot.status}")
        if not self.is_assignee(who) or self.assignee is None:
            raise Forbidden("only the request's assignee manages its meetings")
        return self.assignee


@dataclass(frozen=True)
class Guest:
    id: str
    name: str
    email: str

    @property
    def party(self) -> Party:
        return Party(sub=f"guest:{self.id}", name=self.name, email=self.email)


@dataclass(frozen=True)
class Cancellation:
    reason: str | None
    by: Party
    at: datetime


@dataclass
class Meeting:
    id: str
    request_id: str
    subject: str
    starts_at: datetime
    duration_minutes: int
    room: str
    attendant: Party  # who scheduled it: the assignee, whose calendar it occupies
    created_at: datetime
    status: Literal["scheduled", "canceled"] = "scheduled"
    guests: list[Guest] = field(default_factory=list)
    cancellation: Cancellation | None = None
    version: int = 1
    events: list[m.Event] = field(default_factory=list)

    @property
    def ends_at(self) -> datetime:
        return self.starts_at + timedelta(minutes=self.duration_minutes)

    @property
    def opens_at(self) -> datetime:
        return self.starts_at - JOIN_EARLY

    # --- commands ------------------------------------------------------------------

    @classmethod
    def schedule(cls, mid: str, view: RequestView, who: Principal, *, subject: str,
                 starts_at: datetime, duration_minutes: int, room: str,
                 now: datetime) -> Meeting:
        attendant = view.check_manager(who)
        _check_future(starts_at, now)
        meeting = cls(mid, view.id, subject, starts_at.astimezone(UTC), duration_minutes, room,
                      attendant, now)
        meeting._record(m.MeetingScheduled, view, now, attendant)
        return meeting

    def change(self, view: RequestView, who: Principal, *, now: datetime,
               subject: str | None = None, starts_at: datetime | None = None,
               duration_minutes: int | None = None) -> bool:
        """Reschedule and/or change the subject; True if the time changed."""
        actor = view.check_manager(who)
        self._check_open(now)
        new_start = starts_at.astimezone(UTC) if starts_at else self.starts_at
        new_duration = duration_minutes or self.duration_minutes
        moved = (new_start, new_duration) != (self.starts_at, self.duration_minutes)
        if moved:
            if now >= self.starts_at:
                raise InvalidTransition("a meeting that has started cannot be rescheduled")
            _check_future(new_start, now)
        previous = self.starts_at
        self.starts_at, self.duration_minutes = new_start, new_duration
        self.subject = subject or self.subject
        self.version += 1
        if moved:
            self._record(m.MeetingRescheduled, view, now, actor, previous_starts_at=previous)
        return moved

    def cancel(self, view: RequestView | None, actor: Party, reason: str | None,
               now: datetime) -> None:
        self._check_open(now)
        self.status = "canceled"
        self.cancellation = Cancellation(reason, actor, now)
        self.version += 1
        self._record(m.MeetingCanceled, view, now, actor, reason=reason)

    def invite(self, view: RequestView, who: Principal, guest: Guest, now: datetime) -> None:
        actor = view.check_manager(who)
        self._check_open(now)
        if len(self.guests) >= MAX_GUESTS:
            raise InvalidTransition(f"a meeting has at most {MAX_GUESTS} guests")
        self.guests.append(guest)
        self.version += 1
        self._record(m.GuestInvited, view, now, actor, guest=guest.party)

    def participant_role(self, view: RequestView, who: Principal) -> Role:
        view.check_visible(who)
        if who.sub == view.citizen.sub:
            return "citizen"
        if who.sub == self.attendant.sub or view.is_assignee(who):
            return "attendant"
        raise Forbidden("only the assignee and the citizen join from the request")

    def join(self, view: RequestView | None, participant: Party, role: Role,
             now: datetime) -> None:
        if self.status == "canceled":
            raise InvalidTransition("the meeting was cancelled")
        if not self.opens_at <= now < self.ends_at:
            raise OutsideJoinWindow(
                "the room opens 15 minutes before the start and closes at the end")
        self._record(m.MeetingJoined, view, now, participant, participant=participant,
                     role=role)

    def remind(self, view: RequestView | None, now: datetime) -> None:
        recipients = [p for p in (self._citizen(view), self.attendant) if p is not None]
        self._record(m.MeetingReminderDue, view, now, self.attendant, recipients=recipients)

    # --- helpers -------------------------------------------------------------------

    def _check_open(self, now: datetime) -> None:
        if self.status == "canceled":
            raise InvalidTransition("the meeting was cancelled")
        if now >= self.ends_at:
            raise InvalidTransition("the meeting has ended")

    def _citizen(self, view: RequestView | None) -> Party | None:
        return view.citizen if view is not None else None

    def _record(self, kind: type[m.MeetingEvent], view: RequestView | None, now: datetime,
                actor: Party, **data: Any) -> None:
        attendant = view.assignee if view is not None and view.assignee else self.attendant
        self.events.append(kind(
            request_id=self.request_id, occurred_at=now, meeting_id=self.id,
            subject=self.subject, starts_at=self.starts_at, ends_at=self.ends_at,
            actor=actor, citizen=self._citizen(view), attendant=attendant, **data))


def _check_future(starts_at: datetime, now: datetime) -> None:
    if starts_at <= now:
        raise ValidationFailed.field("starts_at", "must be in the future")
