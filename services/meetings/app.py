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
              response=MeetingOut, status=201,
              errors=("forbidden", "attendant_not_enabled", "invalid_transition", "conflict",
                      "view_behind"),
              example={"starts_at": "2030-03-01T14:00:00-03:00", "duration_minutes": 30,
                       "subject": "Conferência de documentos"},
              description="In the future, 15 to 240 minutes (default 60); 409 conflict if "
              "the assignee has another meeting then. Right after the approval the service "
              "waits (bounded) for it; with If-Match, 409 view_behind when the wait runs "
              "out. The citizen is told; a reminder goes 30 minutes before."),
    Operation("GET", _M, "The request's meetings", response=MeetingPage,
              query=("limit", "cursor"), errors=("attendant_not_enabled",),
              description="Everyone who may see the request."),
    Operation("PATCH", _ONE, "Reschedule a meeting or change its subject", body=MeetingPatch,
              response=MeetingOut, errors=("forbidden", "invalid_transition", "conflict"),
              example={"starts_at": "2030-03-01T15:00:00-03:00"},
              description="The assignee; not once it has started. The citizen is told."),
    Operation("POST", f"{_ONE}/cancellation", "Cancel a meeting", body=CancellationIn,
              response=MeetingOut, errors=("forbidden", "invalid_transition"),
              example={"reason": "Imprevisto na agenda"},
              description="The assignee; the body is optional. The citizen is told."),
    Operation("POST", f"{_ONE}/guests", "Invite a guest; the invite token is shown once",
              body=GuestIn, response=GuestCreated, status=201,
              errors=("forbidden", "invalid_transition"),
              example={"name": "Dra. Lúcia", "email": "lucia@example.com"},
              description="The assignee. The guest is also sent the invitation by mail."),
    Operation("POST", f"{_ONE}/join", "Join (the assignee or the citizen)", body=JoinIn,
              response=JoinOut, errors=("forbidden", "invalid_transition",
                                        "outside_join_window"),
              example={"display_name": "Carla"},
              description="Opens 15 minutes before the start and closes at the end; a "
              "cancelled meeting is 409 too."),
    Operation("POST", "/meetings/join", "Join as a guest, with an invite token",
              auth="guest", body=GuestJoinIn, response=JoinOut,
              errors=("not_found", "invalid_transition", "outside_join_window"),
              example={"invite_token": "…", "display_name": "Dra. Lúcia"},
              description="No bearer token: the invite token is the credential; an "
              "unknown one is 404."),
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
