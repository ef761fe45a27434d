"""The meetings service: video meetings of an attendance (Jitsi rooms), their guests,
join links and reminders."""

from __future__ import annotations

import falcon

from services.meetings import consumers, resources
from services.meetings.contract import CONTRACT, MEETING, MEETINGS, OPERATIONS
from services.meetings.deps import build as build_deps
from shared.context import ServiceContext
from shared.http import create_app
from shared.service import ServiceDef


def build_app(ctx: ServiceContext) -> falcon.App:
    routes: dict[str, object] = {
        MEETINGS: resources.Meetings(ctx),
        MEETING: resources.MeetingItem(ctx),
        f"{MEETING}/cancellation": resources.Cancellation(ctx),
        f"{MEETING}/guests": resources.Guests(ctx),
        f"{MEETING}/join": resources.Join(ctx),
        "/meetings/join": resources.GuestJoin(ctx),
    }
    return create_app(ctx, routes, OPERATIONS, title="Atende meetings")


SERVICE = ServiceDef(CONTRACT, build_app, apply=consumers.apply,
                     deps=build_deps,
                     actors=consumers.declare_actors, periodic=consumers.periodic)
