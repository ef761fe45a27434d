"""The followups service: the conversation between the assignee and the citizen, and
every notification the platform sends (in-app inbox and mail)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from services.followups import consumers, repository
from services.followups.contract import CONTRACT, FU, OPERATIONS
from services.followups.deps import build as build_deps
from shared.context import ServiceContext
from shared.service import ServiceDef

if TYPE_CHECKING:
    import falcon


def build_app(ctx: ServiceContext) -> falcon.App:
    # The HTTP side is imported where it is built: a worker never loads it.
    from services.followups import resources
    from shared.http import create_app

    routes: dict[str, object] = {
        FU: resources.Followups(ctx),
        f"{FU}/{{followup_id}}/attachments/{{attachment_id}}": resources.AttachmentFile(ctx),
        "/notifications": resources.Notifications(ctx),
        "/notifications/{notification_id}/read": resources.NotificationRead(ctx),
    }
    return create_app(ctx, routes, OPERATIONS, title="Atende followups")


SERVICE = ServiceDef(CONTRACT, build_app, apply=consumers.apply, reads=repository.event_reads,
                     deps=build_deps,
                     actors=consumers.declare_actors)
