"""Request and response bodies of the meetings API."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AwareDatetime,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)

from services.meetings.model import Guest, Meeting, RequestView
from services.meetings.rooms import JoinLink
from shared.identity import Principal
from shared.mail import ADDRESS
from shared.messages import Party
from shared.model import Model
from shared.parties import PartyOut, reads_as_staff, shown


def _iso_text(value: Any) -> Any:
    # Only ISO 8601 text: a bare number would be read as a Unix time, silently.
    if not isinstance(value, str):
        raise ValueError("expected an ISO 8601 date-time with a UTC offset")
    return value


StartsAt = Annotated[AwareDatetime, BeforeValidator(_iso_text)]
Duration = Annotated[int, Field(strict=True, ge=15, le=240)]
Subject = Annotated[str, StringConstraints(strict=True, strip_whitespace=True, min_length=1,
                                          max_length=200)]
Name = Annotated[str, StringConstraints(strict=True, strip_whitespace=True, min_length=1,
                                       max_length=100)]
Email = Annotated[str, StringConstraints(strict=True, strip_whitespace=True, max_length=254,
                                         pattern=ADDRESS)]


class MeetingIn(Model):
    model_config = ConfigDict(extra="forbid")

    starts_at: StartsAt
    duration_minutes: Duration = 60
    subject: Subject


class MeetingPatch(Model):
    model_config = ConfigDict(extra="forbid")

    starts_at: StartsAt | None = None
    duration_minutes: Duration | None = None
    subject: Subject | None = None

    @model_validator(mode="after")
    def _something(self) -> MeetingPatch:
        if self.starts_at is None and self.duration_minutes is None and self.subject is None:
            raise ValueError("give starts_at, duration_minutes or subject")
        return self


class CancellationIn(Model):
    model_config = ConfigDict(extra="forbid")

    reason: Annotated[str, StringConstraints(strict=True, strip_whitespace=True,
                                             max_length=500)] | None = None


class GuestIn(Model):
    model_config = ConfigDict(extra="forbid")

    name: Name
    email: Email


class JoinIn(Model):
    model_config = ConfigDict(extra="forbid")

    display_name: Name


class GuestJoinIn(Model):
    model_config = ConfigDict(extra="forbid")

    invite_token: Annotated[str, StringConstraints(strict=True, min_length=1, max_length=200)]
    display_name: Name


# {sub, name} to the institution's staff, {name, role} to a citizen.
MeetingPerson = PartyOut


class GuestOut(Model):
    id: str
    name: str
    email: str

    @classmethod
    def of(cls, g: Guest) -> GuestOut:
        return cls(id=g.id, name=g.name, email=g.email)


class GuestCreated(GuestOut):
    # Shown once, here; the service keeps only its hash.
    invite_token: str


class CancellationOut(Model):
    reason: str | None
    by: MeetingPerson
    at: datetime


class MeetingOut(Model):
    id: str
    request_id: str
    subject: str
    starts_at: datetime
    ends_at: datetime
    duration_minutes: int
    status: Literal["scheduled", "canceled"]
    guests: list[GuestOut]
    created_by: MeetingPerson
    created_at: datetime
    cancellation: CancellationOut | None

    @classmethod
    def of(cls, mt: Meeting, view: RequestView | None = None,
           reader: Principal | None = None) -> MeetingOut:
        """``mt`` as ``reader`` may see it (without one, as the institution's staff)."""
        c = mt.cancellation
        hide = view is not None and reader is not None \
            and not reads_as_staff(reader, view.snapshot.org)
        citizen_sub = view.citizen.sub if view is not None else ""

        def person(p: Party) -> MeetingPerson:
            return MeetingPerson.model_validate(shown(
                {"sub": p.sub, "name": p.name}, citizen_sub=citizen_sub, to_citizen=hide))

        return cls(
            id=mt.id, request_id=mt.request_id, subject=mt.subject, starts_at=mt.starts_at,
            ends_at=mt.ends_at, duration_minutes=mt.duration_minutes, status=mt.status,
            guests=[GuestOut.of(g) for g in mt.guests],
            created_by=person(mt.attendant),
            created_at=mt.created_at,
            cancellation=None if c is None else CancellationOut(
                reason=c.reason, by=person(c.by), at=c.at))


class MeetingPage(Model):
    items: list[MeetingOut]
    next_cursor: str | None


class JoinOut(Model):
    url: str
    room: str
    expires_at: datetime

    @classmethod
    def of(cls, link: JoinLink) -> JoinOut:
        return cls(url=link.url, room=link.room, expires_at=link.expires_at)
