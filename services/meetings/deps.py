"""The meetings service's own collaborators, built once from the settings."""

from __future__ import annotations

from dataclasses import dataclass

from services.meetings.invites import InviteTokens, invites_from
from services.meetings.rooms import JitsiRooms, rooms_from
from shared.mail import Mailer, mailer_from
from shared.settings import Settings


@dataclass
class MeetingsDeps:
    rooms: JitsiRooms
    invites: InviteTokens
    mailer: Mailer


def build(settings: Settings) -> MeetingsDeps:
    return MeetingsDeps(rooms_from(settings), invites_from(settings), mailer_from(settings))
