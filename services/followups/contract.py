"""The followups service's contract: the conversation of an attendance, and every
notification the platform sends."""

from __future__ import annotations

from services.followups.schemas import (
    FollowupIn,
    FollowupOut,
    FollowupPage,
    NotificationOut,
    NotificationPage,
)
from shared.contract import Contract, Operation

MAIL_ACTOR = "followups_send_mail"

_PAGE = ("limit", "cursor")
FU = "/requests/{request_id}/followups"

OPERATIONS = [
    Operation("POST", FU, "Post a follow-up (the assignee or the citizen, in_service)",
              body=FollowupIn, multipart=("body", "file"), response=FollowupOut, status=201),
    Operation("GET", FU, "The follow-up history, oldest first", response=FollowupPage,
              query=_PAGE),
    Operation("GET", f"{FU}/{{followup_id}}/attachments/{{attachment_id}}",
              "An attachment's bytes", binary=True),
    Operation("GET", "/notifications", "The caller's notifications, newest first",
              response=NotificationPage, query=_PAGE),
    Operation("POST", "/notifications/{notification_id}/read", "Mark a notification read",
              response=NotificationOut),
]

# What the requests service tells about a request (by name: no service imports another).
REQUEST_EVENTS = ("RequestSubmitted", "AnalysisStarted", "StepChecked", "RequestRejected",
                  "RequestApproved", "RequestReassigned", "RequestConcluded")

CONTRACT = Contract(
    name="followups",
    operations=tuple(OPERATIONS),
    publishes=("FollowupPosted",),
    consumes=(*REQUEST_EVENTS, "FollowupPosted", "MeetingScheduled", "MeetingRescheduled",
              "MeetingCanceled", "GuestInvited", "MeetingJoined", "MeetingReminderDue",
              "ReviewSubmitted", "ReviewModerated", "RosterChanged"),
    jobs=(MAIL_ACTOR,),
)
