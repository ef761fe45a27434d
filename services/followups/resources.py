"""Falcon resources: translate HTTP to a handler call and back."""

from __future__ import annotations

from typing import TypeAlias

import falcon

from services.followups import handlers
from services.followups.schemas import FollowupIn
from shared.blobs_s3 import download_url
from shared.context import ServiceContext
from shared.errors import ValidationFailed
from shared.files import FilePart
from shared.freshness import run_fresh
from shared.http import (
    is_multipart,
    json_body,
    multipart_body,
    page_params,
    principal,
    run_command,
    send_file,
)

Req: TypeAlias = falcon.Request
Resp: TypeAlias = falcon.Response


class _Resource:
    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx


def _form(req: Req, ctx: ServiceContext) -> tuple[FollowupIn, list[FilePart]]:
    """A multipart post: a ``body`` field and ``file`` parts, nothing else."""
    form = multipart_body(req, ctx.settings, max_files=ctx.settings.max_files_per_post)
    errors = [{"field": n, "message": "unknown field"} for n in form.fields if n != "body"]
    errors += [{"field": f.name, "message": "unknown file field"}
               for f in form.files if f.name != "file"]
    if errors:
        raise ValidationFailed("unexpected form fields", errors)
    return FollowupIn.model_validate({"body": form.fields.get("body", "")}), form.files


class Followups(_Resource):
    def on_post(self, req: Req, resp: Resp, request_id: str) -> None:
        who = principal(req, self.ctx.verifier)
        if is_multipart(req):
            body, files = _form(req, self.ctx)
        else:
            body, files = json_body(req, FollowupIn, self.ctx.settings), []
        run_fresh(self.ctx, req, resp, lambda uow: handlers.post_followup(
            uow, self.ctx.blobs, self.ctx.settings, who, request_id, body.body, files,
            self.ctx.clock), view_pk=f"REQ#{request_id}", status=201, caller=who.sub)

    def on_get(self, req: Req, resp: Resp, request_id: str) -> None:
        who = principal(req, self.ctx.verifier)
        limit, cursor = page_params(req)
        page = handlers.list_followups(self.ctx.table, who, request_id, limit, cursor)
        resp.media = page.model_dump(mode="json")


class AttachmentFile(_Resource):
    def on_get(self, req: Req, resp: Resp, request_id: str, followup_id: str,
               attachment_id: str) -> None:
        who = principal(req, self.ctx.verifier)
        found = handlers.attachment_of(self.ctx.table, who, request_id, followup_id,
                                       attachment_id)
        url = download_url(self.ctx.blobs, self.ctx.settings, blob=found.blob,
                           size=found.size, filename=found.filename,
                           content_type=found.content_type)
        if url is not None:  # too large for a function's response: from S3 itself
            resp.status = falcon.HTTP_307
            resp.location = url
            resp.set_header("Cache-Control", "no-store")
            return
        send_file(resp, self.ctx.blobs.get(found.blob), found.content_type, found.filename)


class Notifications(_Resource):
    def on_get(self, req: Req, resp: Resp) -> None:
        who = principal(req, self.ctx.verifier)
        limit, cursor = page_params(req)
        page = handlers.list_notifications(self.ctx.table, who, limit, cursor)
        resp.media = page.model_dump(mode="json")


class NotificationRead(_Resource):
    def on_post(self, req: Req, resp: Resp, notification_id: str) -> None:
        who = principal(req, self.ctx.verifier)
        run_command(self.ctx, req, resp,
                    lambda uow: handlers.mark_read(uow, who, notification_id),
                    caller=who.sub)
