"""The followups service: the conversation between the assignee and the citizen, and
every notification the platform sends (in-app inbox and mail)."""

from __future__ import annotations

import falcon

from services.followups import consumers, resources
from services.followups.schemas import (
    FollowupIn,
    FollowupOut,
    FollowupPage,
    NotificationOut,
    NotificationPage,
)
from shared.http import Operation, ServiceContext, create_app
from shared.service import ServiceDef

_PAGE = ("limit", "cursor")
_FU = "/requests/{request_id}/followups"

OPERATIONS = [
    Operation("POST", _FU, "Post a follow-up (the assignee or the citizen, in_service)",
              body=FollowupIn, multipart=("body", "file"), response=FollowupOut, status=201,
              required_parts=("body",), example={"body": "Segue o comprovante."},
              errors=("forbidden", "attendant_not_enabled", "conflict_of_interest",
                      "invalid_transition", "view_behind"),
              description="JSON `{body}`, or multipart `body` and up to the per-post cap "
              "of `file` parts (PDF, PNG or JPEG, the same caps as documents). Right after "
              "the approval the service may not have seen it yet: the post waits for it "
              "(bounded); with If-Match naming the version seen, 409 view_behind with "
              "Retry-After if the wait runs out."),
    Operation("GET", _FU, "The follow-up history, oldest first", response=FollowupPage,
              query=_PAGE, errors=("attendant_not_enabled",),
              description="The assignee, the citizen, and staff who may see the request."),
    Operation("GET", f"{_FU}/{{followup_id}}/attachments/{{attachment_id}}",
              "An attachment's bytes", binary=True, errors=("attendant_not_enabled",),
              description="With its stored content type, as an attachment."),
    Operation("GET", "/notifications", "The caller's notifications, newest first",
              response=NotificationPage, query=_PAGE,
              description="In Brazilian Portuguese; `read` says whether it was marked."),
    Operation("POST", "/notifications/{notification_id}/read", "Mark a notification read",
              response=NotificationOut, description="Only the caller's own; a repeat "
              "changes nothing."),
]


def build_app(ctx: ServiceContext) -> falcon.App:
    routes: dict[str, object] = {
        _FU: resources.Followups(ctx),
        f"{_FU}/{{followup_id}}/attachments/{{attachment_id}}": resources.AttachmentFile(ctx),
        "/notifications": resources.Notifications(ctx),
        "/notifications/{notification_id}/read": resources.NotificationRead(ctx),
    }
    return create_app(ctx, routes, OPERATIONS, title="Atende followups")


SERVICE = ServiceDef(name="followups", operations=OPERATIONS, create_app=build_app,
                     on_event=consumers.on_event, setup=consumers.setup,
                     actors=consumers.declare_actors)
