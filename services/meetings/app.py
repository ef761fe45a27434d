"""The meetings service: video meetings of an attendance (Jitsi rooms), their guests,
join links and reminders."""

from __future__ import annotations

import falcon

from services.meetings import consumers, resources
from services.meetings.schemas import (
    CancellationIn,
    GuestCreated,
    GuestIn,
    GuestJoinIn,
    JoinIn,
    JoinOut,
    MeetingIn,
    MeetingOut,
    MeetingPage,
    MeetingPatch,
)
from shared.http import Operation, ServiceContext, create_app
from shared.service import ServiceDef

_M = "/requests/{request_id}/meetings"
_ONE = f"{_M}/{{meeting_id}}"

OPERATIONS = [
    Operation("POST", _M, "Schedule a meeting (the assignee, in_service)", body=MeetingIn,
              response=MeetingOut, status=201),
    Operation("GET", _M, "The request's meetings", response=MeetingPage,
              query=("limit", "cursor")),
    Operation("PATCH", _ONE, "Reschedule a meeting or change its subject", body=MeetingPatch,
              response=MeetingOut),
    Operation("POST", f"{_ONE}/cancellation", "Cancel a meeting", body=CancellationIn,
              response=MeetingOut),
    Operation("POST", f"{_ONE}/guests", "Invite a guest; the invite token is shown once",
              body=GuestIn, response=GuestCreated, status=201),
    Operation("POST", f"{_ONE}/join", "Join (the assignee or the citizen)", body=JoinIn,
              response=JoinOut),
    Operation("POST", "/meetings/join", "Join as a guest, with an invite token",
              auth="guest", body=GuestJoinIn, response=JoinOut),
]


def build_app(ctx: ServiceContext) -> falcon.App:
    routes: dict[str, object] = {
        _M: resources.Meetings(ctx),
        _ONE: resources.MeetingItem(ctx),
        f"{_ONE}/cancellation": resources.Cancellation(ctx),
        f"{_ONE}/guests": resources.Guests(ctx),
        f"{_ONE}/join": resources.Join(ctx),
        "/meetings/join": resources.GuestJoin(ctx),
    }
    return create_app(ctx, routes, OPERATIONS, title="Atende meetings")


SERVICE = ServiceDef(name="meetings", operations=OPERATIONS, create_app=build_app,
                     on_event=consumers.on_event, setup=consumers.setup,
                     actors=consumers.declare_actors, periodic=consumers.periodic)
