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
from shared.contract import PAGE, Contract, Job, Operation
from shared.messages import REQUEST_EVENTS

MAIL_ACTOR = "followups_send_mail"

FU = "/requests/{request_id}/followups"

OPERATIONS = [
    Operation("POST", FU, "Post a follow-up (the assignee or the citizen, in_service)",
              body=FollowupIn, multipart=("body", "file"), response=FollowupOut, status=201,
              required_parts=("body",), example={"body": "Segue o comprovante."},
              errors=("forbidden", "attendant_not_enabled", "conflict_of_interest",
                      "invalid_transition", "view_behind"),
              description="JSON `{body}`, or multipart `body` and up to the per-post cap "
              "of `file` parts (PDF, PNG or JPEG, the same caps as documents). Right after "
              "the approval the service may not have seen it yet: the post waits for it "
              "(bounded); with If-Match naming the version seen, 409 view_behind with "
              "Retry-After if the wait runs out."),
    Operation("GET", FU, "The follow-up history, oldest first", response=FollowupPage,
              query=PAGE, errors=("attendant_not_enabled",),
              description="The assignee, the citizen, and staff who may see the request."),
    Operation("GET", f"{FU}/{{followup_id}}/attachments/{{attachment_id}}",
              "An attachment's bytes", binary=True, errors=("attendant_not_enabled",),
              description="With its stored content type, as an attachment. Where files "
              "are kept on S3, one over `ATENDE_BLOB_REDIRECT_BYTES` (default 4 MiB) is "
              "answered 307 to a presigned S3 URL that serves it the same way."),
    Operation("GET", "/notifications", "The caller's notifications, newest first",
              response=NotificationPage, query=PAGE,
              description="In Brazilian Portuguese; `read` says whether it was marked."),
    Operation("POST", "/notifications/{notification_id}/read", "Mark a notification read",
              response=NotificationOut, description="Only the caller's own; a repeat "
              "changes nothing."),
]


CONTRACT = Contract(
    name="followups",
    operations=tuple(OPERATIONS),
    publishes=("FollowupPosted",),
    consumes=(*REQUEST_EVENTS, "FollowupPosted", "MeetingScheduled", "MeetingRescheduled",
              "MeetingCanceled", "GuestInvited", "MeetingJoined", "MeetingReminderDue",
              "ReviewSubmitted", "ReviewModerated", "RosterChanged"),
    # Mail waits on the SMTP server or SES: a queue and threads of its own, so that a slow
    # mail server never holds the threads the events above need.
    jobs=(Job(MAIL_ACTOR, queue="mail"),),
)
