"""The meetings service: video meetings of an attendance (Jitsi rooms), their guests,
join links and reminders."""

from __future__ import annotations

from typing import TYPE_CHECKING

from services.meetings import consumers, reminders, repository
from services.meetings.contract import CONTRACT, MEETING, MEETINGS, OPERATIONS
from services.meetings.deps import build as build_deps
from shared.context import ServiceContext
from shared.service import ServiceDef

if TYPE_CHECKING:
    import falcon


def build_app(ctx: ServiceContext) -> falcon.App:
    # The HTTP side is imported where it is built: a worker never loads it.
    from services.meetings import resources
    from shared.http import create_app

    routes: dict[str, object] = {
        MEETINGS: resources.Meetings(ctx),
        MEETING: resources.MeetingItem(ctx),
        f"{MEETING}/cancellation": resources.Cancellation(ctx),
        f"{MEETING}/guests": resources.Guests(ctx),
        f"{MEETING}/join": resources.Join(ctx),
        "/meetings/join": resources.GuestJoin(ctx),
    }
    return create_app(ctx, routes, OPERATIONS, title="Atende meetings")


SERVICE = ServiceDef(CONTRACT, build_app, apply=consumers.apply, reads=repository.event_reads,
                     deps=build_deps,
                     actors=consumers.declare_actors, periodic=reminders.periodic)
