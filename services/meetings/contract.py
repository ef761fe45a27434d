"""The meetings service's contract: video meetings, guests, join links, reminders."""

from __future__ import annotations

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
from shared.contract import Contract, Operation

INVITE_ACTOR = "meetings_send_invite"

MEETINGS = "/requests/{request_id}/meetings"
MEETING = f"{MEETINGS}/{{meeting_id}}"

OPERATIONS = [
    Operation("POST", MEETINGS, "Schedule a meeting (the assignee, in_service)", body=MeetingIn,
              response=MeetingOut, status=201),
    Operation("GET", MEETINGS, "The request's meetings", response=MeetingPage,
              query=("limit", "cursor")),
    Operation("PATCH", MEETING, "Reschedule a meeting or change its subject", body=MeetingPatch,
              response=MeetingOut),
    Operation("POST", f"{MEETING}/cancellation", "Cancel a meeting", body=CancellationIn,
              response=MeetingOut),
    Operation("POST", f"{MEETING}/guests", "Invite a guest; the invite token is shown once",
              body=GuestIn, response=GuestCreated, status=201),
    Operation("POST", f"{MEETING}/join", "Join (the assignee or the citizen)", body=JoinIn,
              response=JoinOut),
    Operation("POST", "/meetings/join", "Join as a guest, with an invite token",
              auth="guest", body=GuestJoinIn, response=JoinOut),
]

# What the requests service tells about a request (by name: no service imports another).
REQUEST_EVENTS = ("RequestSubmitted", "AnalysisStarted", "StepChecked", "RequestRejected",
                  "RequestApproved", "RequestReassigned", "RequestConcluded")
MEETING_EVENTS = ("MeetingScheduled", "MeetingRescheduled", "MeetingCanceled",
                  "GuestInvited", "MeetingJoined")

CONTRACT = Contract(
    name="meetings",
    operations=tuple(OPERATIONS),
    publishes=(*MEETING_EVENTS, "MeetingReminderDue"),
    consumes=(*REQUEST_EVENTS, "RosterChanged"),
    jobs=(INVITE_ACTOR,),
)
