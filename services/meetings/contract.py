"""The meetings service's contract: video meetings, guests, join links, reminders."""

from __future__ import annotations

from services.meetings.model import OutsideJoinWindow
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
from shared.contract import PAGE, Contract, Operation
from shared.messages import REQUEST_EVENTS

INVITE_ACTOR = "meetings_send_invite"

MEETINGS = "/requests/{request_id}/meetings"
MEETING = f"{MEETINGS}/{{meeting_id}}"

OPERATIONS = [
    Operation("POST", MEETINGS, "Schedule a meeting (the assignee, in_service)", body=MeetingIn,
              response=MeetingOut, status=201,
              errors=("forbidden", "attendant_not_enabled", "invalid_transition", "conflict",
                      "view_behind"),
              example={"starts_at": "2030-03-01T14:00:00-03:00", "duration_minutes": 30,
                       "subject": "Conferência de documentos"},
              description="In the future, 15 to 240 minutes (default 60); 409 conflict if "
              "the assignee has another meeting then. Right after the approval the service "
              "waits (bounded) for it; with If-Match, 409 view_behind when the wait runs "
              "out. The citizen is told; a reminder goes 30 minutes before."),
    Operation("GET", MEETINGS, "The request's meetings", response=MeetingPage,
              query=PAGE, errors=("attendant_not_enabled",),
              description="Everyone who may see the request."),
    Operation("PATCH", MEETING, "Reschedule a meeting or change its subject", body=MeetingPatch,
              response=MeetingOut, errors=("forbidden", "invalid_transition", "conflict"),
              example={"starts_at": "2030-03-01T15:00:00-03:00"},
              description="The assignee; not once it has started. The citizen is told."),
    Operation("POST", f"{MEETING}/cancellation", "Cancel a meeting", body=CancellationIn,
              response=MeetingOut, errors=("forbidden", "invalid_transition"),
              example={"reason": "Imprevisto na agenda"},
              description="The assignee; the body is optional. The citizen is told."),
    Operation("POST", f"{MEETING}/guests", "Invite a guest; the invite token is shown once",
              body=GuestIn, response=GuestCreated, status=201,
              errors=("forbidden", "invalid_transition"),
              example={"name": "Dra. Lúcia", "email": "lucia@example.com"},
              description="The assignee. The guest is also sent the invitation by mail."),
    Operation("POST", f"{MEETING}/join", "Join (the assignee or the citizen)", body=JoinIn,
              response=JoinOut, errors=("forbidden", "invalid_transition",
                                        OutsideJoinWindow),
              example={"display_name": "Carla"},
              description="Opens 15 minutes before the start and closes at the end; a "
              "cancelled meeting is 409 too."),
    Operation("POST", "/meetings/join", "Join as a guest, with an invite token",
              auth="guest", body=GuestJoinIn, response=JoinOut,
              errors=("not_found", "invalid_transition", OutsideJoinWindow),
              example={"invite_token": "…", "display_name": "Dra. Lúcia"},
              description="No bearer token: the invite token is the credential; an "
              "unknown one is 404."),
]

MEETING_EVENTS = ("MeetingScheduled", "MeetingRescheduled", "MeetingCanceled",
                  "GuestInvited", "MeetingJoined")

CONTRACT = Contract(
    name="meetings",
    operations=tuple(OPERATIONS),
    publishes=(*MEETING_EVENTS, "MeetingReminderDue"),
    consumes=(*REQUEST_EVENTS, "RosterChanged"),
    jobs=(INVITE_ACTOR,),
)
