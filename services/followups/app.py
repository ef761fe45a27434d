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
              body=FollowupIn, multipart=("body", "file"), response=FollowupOut, status=201),
    Operation("GET", _FU, "The follow-up history, oldest first", response=FollowupPage,
              query=_PAGE),
    Operation("GET", f"{_FU}/{{followup_id}}/attachments/{{attachment_id}}",
              "An attachment's bytes", binary=True),
    Operation("GET", "/notifications", "The caller's notifications, newest first",
              response=NotificationPage, query=_PAGE),
    Operation("POST", "/notifications/{notification_id}/read", "Mark a notification read",
              response=NotificationOut),
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
