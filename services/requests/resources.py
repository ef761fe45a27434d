"""Falcon resources: translate HTTP to handler calls and back."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeAlias, get_args

import falcon
import orjson

from services.requests import handlers as h
from services.requests.schemas import (
    ApprovalIn,
    AttendantIn,
    ConclusionIn,
    ReassignmentIn,
    RejectionIn,
    RequestIn,
    RequestOut,
    ServiceIn,
    ServicePatch,
    Status,
    StepIn,
)
from shared.blobs_s3 import download_url
from shared.context import ServiceContext
from shared.errors import UnsupportedMediaType, ValidationFailed
from shared.files import DOCUMENT_TYPES, PDF, Upload, accept
from shared.http import (
    expected_version,
    is_multipart,
    json_body,
    multipart_body,
    page_params,
    principal,
    run_command,
    send_file,
)
from shared.identity import Principal
from shared.outbox import UnitOfWork
from shared.preconditions import Expected

Req: TypeAlias = falcon.Request
Resp: TypeAlias = falcon.Response
STATUSES = frozenset(get_args(Status))


class _Resource:
    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx

    def _transition(self, req: Req, resp: Resp, p: Principal,
                    command: Callable[[UnitOfWork, Expected], RequestOut]) -> None:
        """A command moving a request on: refused with 412 if it changed since the caller's
        ``If-Match``, answered with the new version's ETag."""
        expected = expected_version(req)
        run_command(self.ctx, req, resp, lambda uow: command(uow, expected), caller=p.sub)
        _etag(resp)


def _etag(resp: Resp, version: int | None = None) -> None:
    """The ETag of the request version answered: ``version``, or the body's."""
    if version is None:
        media = resp.media
        version = media.get("version") if isinstance(media, dict) else None
    if version is not None:
        resp.set_header("ETag", f'"{version}"')


def _one_file(req: Req, ctx: ServiceContext, *, fields: set[str], required: bool,
              allowed: frozenset[str]) -> tuple[dict[str, str], Upload | None]:
    """A multipart form with at most one ``file`` part, judged by its content."""
    form = multipart_body(req, ctx.settings, max_files=1)
    errors = [{"field": n, "message": "unknown field"} for n in form.fields if n not in fields]
    errors += [{"field": f.name, "message": "unknown file field"}
               for f in form.files if f.name != "file"]
    if errors:
        raise ValidationFailed("unexpected form fields", errors)
    if not form.files:
        if required:
            raise ValidationFailed.field("file", "required")
        return form.fields, None
    part = form.files[0]
    upload = accept(part.filename, part.data, allowed=allowed,
                    max_bytes=ctx.settings.max_file_bytes)
    return form.fields, upload


# --- catalog and roster --------------------------------------------------------------


class Services(_Resource):
    def on_get(self, req: Req, resp: Resp) -> None:
        limit, cursor = page_params(req)
        resp.media = h.list_services(self.ctx.table, limit, cursor).model_dump(mode="json")

    def on_post(self, req: Req, resp: Resp) -> None:
        p = principal(req, self.ctx.verifier)
        body = json_body(req, ServiceIn, self.ctx.settings)
        run_command(self.ctx, req, resp, lambda uow: h.create_service(uow, p, body,
                                                                      self.ctx.clock),
                    status=201, caller=p.sub)


class Service(_Resource):
    def on_get(self, req: Req, resp: Resp, service_id: str) -> None:
        with self.ctx.uow() as uow:
            resp.media = h.read_service(uow, service_id).model_dump(mode="json")

    def on_patch(self, req: Req, resp: Resp, service_id: str) -> None:
        p = principal(req, self.ctx.verifier)
        body = json_body(req, ServicePatch, self.ctx.settings)
        run_command(self.ctx, req, resp, lambda uow: h.patch_service(uow, p, service_id, body),
                    caller=p.sub)


class Attendant(_Resource):
    def on_put(self, req: Req, resp: Resp, sub: str) -> None:
        p = principal(req, self.ctx.verifier)
        body = json_body(req, AttendantIn, self.ctx.settings)
        run_command(self.ctx, req, resp, lambda uow: h.enrol(uow, p, sub, body), caller=p.sub)


class Attendants(_Resource):
    def on_get(self, req: Req, resp: Resp) -> None:
        p = principal(req, self.ctx.verifier)
        limit, cursor = page_params(req)
        page = h.list_attendants(self.ctx.table, p, req.get_param("unit"), limit, cursor)
        resp.media = page.model_dump(mode="json")


# --- requests ------------------------------------------------------------------------


class Requests(_Resource):
    def on_get(self, req: Req, resp: Resp) -> None:
        p = principal(req, self.ctx.verifier)
        limit, cursor = page_params(req)
        page = h.panel(self.ctx.table, p, _panel_filters(req), limit, cursor,
                       self.ctx.clock.now())
        resp.content_type = falcon.MEDIA_JSON
        resp.data = b"".join([b'{"items":', page.items, b',"next_cursor":',
                              orjson.dumps(page.next_cursor), b"}"])

    def on_post(self, req: Req, resp: Resp) -> None:
        p = principal(req, self.ctx.verifier)
        body = json_body(req, RequestIn, self.ctx.settings)
        run_command(self.ctx, req, resp, lambda uow: h.submit(uow, p, body, self.ctx.clock),
                    status=201, caller=p.sub)
        _etag(resp)


def _panel_filters(req: Req) -> h.PanelFilters:
    statuses = tuple(s.strip() for v in req.get_param_as_list("status") or []
                     for s in v.split(",") if s.strip())
    bad = [s for s in statuses if s not in STATUSES]
    if bad:
        raise ValidationFailed.field("status", f"unknown status {bad[0]!r}")
    overdue = req.get_param("overdue")
    if overdue not in (None, "true", "false"):
        raise ValidationFailed.field("overdue", "must be true or false")
    return h.PanelFilters(statuses=statuses, assignee=req.get_param("assignee") or None,
                          service_id=req.get_param("service_id") or None,
                          overdue=overdue == "true")


class RequestItem(_Resource):
    def on_get(self, req: Req, resp: Resp, request_id: str) -> None:
        p = principal(req, self.ctx.verifier)
        with self.ctx.uow() as uow:
            body = h.read_request_body(uow, p, request_id)
        resp.content_type = falcon.MEDIA_JSON
        resp.data = orjson.dumps(body)
        _etag(resp, body["version"])


class Documents(_Resource):
    def on_post(self, req: Req, resp: Resp, request_id: str) -> None:
        p = principal(req, self.ctx.verifier)
        if not is_multipart(req):
            raise UnsupportedMediaType("expected multipart/form-data")
        fields, upload = _one_file(req, self.ctx, fields={"key"}, required=True,
                                   allowed=DOCUMENT_TYPES)
        assert upload is not None
        key = fields.get("key", "").strip() or None
        expected = expected_version(req)
        run_command(self.ctx, req, resp, lambda uow: h.add_document(
            uow, self.ctx.blobs, p, request_id, upload, key, expected, self.ctx.clock),
            status=201, caller=p.sub)


class Document(_Resource):
    def on_get(self, req: Req, resp: Resp, request_id: str, doc_id: str) -> None:
        p = principal(req, self.ctx.verifier)
        with self.ctx.uow() as uow:
            doc = h.document_of(uow, p, request_id, doc_id)
        url = download_url(self.ctx.blobs, self.ctx.settings, blob=doc["blob"],
                           size=int(doc["size"]), filename=doc["filename"],
                           content_type=doc["content_type"])
        if url is not None:  # too large for a function's response: from S3 itself
            resp.status = falcon.HTTP_307
            resp.location = url
            resp.set_header("Cache-Control", "no-store")
            return
        send_file(resp, self.ctx.blobs.get(doc["blob"]), doc["content_type"], doc["filename"])


class Analysis(_Resource):
    def on_post(self, req: Req, resp: Resp, request_id: str) -> None:
        p = principal(req, self.ctx.verifier)
        self._transition(req, resp, p, lambda uow, expected: h.start_analysis(
            uow, p, request_id, expected, self.ctx.clock))


class StepCheck(_Resource):
    def on_put(self, req: Req, resp: Resp, request_id: str, key: str) -> None:
        p = principal(req, self.ctx.verifier)
        body = json_body(req, StepIn, self.ctx.settings)
        self._transition(req, resp, p, lambda uow, expected: h.check_step(
            uow, p, request_id, key, body.ok, body.note, expected, self.ctx.clock))


class Rejection(_Resource):
    def on_post(self, req: Req, resp: Resp, request_id: str) -> None:
        p = principal(req, self.ctx.verifier)
        body = json_body(req, RejectionIn, self.ctx.settings)
        self._transition(req, resp, p, lambda uow, expected: h.reject(
            uow, p, request_id, body.justification, expected, self.ctx.clock))


class Approval(_Resource):
    def on_post(self, req: Req, resp: Resp, request_id: str) -> None:
        p = principal(req, self.ctx.verifier)
        body = json_body(req, ApprovalIn, self.ctx.settings)
        self._transition(req, resp, p, lambda uow, expected: h.approve(
            uow, p, request_id, body.assignee, expected, self.ctx.clock))


class Reassignment(_Resource):
    def on_post(self, req: Req, resp: Resp, request_id: str) -> None:
        p = principal(req, self.ctx.verifier)
        body = json_body(req, ReassignmentIn, self.ctx.settings)
        self._transition(req, resp, p, lambda uow, expected: h.reassign(
            uow, p, request_id, body.assignee, body.reason, expected, self.ctx.clock))


class Conclusion(_Resource):
    def on_post(self, req: Req, resp: Resp, request_id: str) -> None:
        p = principal(req, self.ctx.verifier)
        upload = None
        if is_multipart(req):
            fields, upload = _one_file(req, self.ctx, fields={"summary"}, required=False,
                                       allowed=frozenset({PDF}))
            body = ConclusionIn.model_validate({"summary": fields.get("summary", "")})
        else:
            body = json_body(req, ConclusionIn, self.ctx.settings)
        self._transition(req, resp, p, lambda uow, expected: h.conclude(
            uow, self.ctx.blobs, p, request_id, body.summary, upload, expected,
            self.ctx.clock))


class Timeline(_Resource):
    def on_get(self, req: Req, resp: Resp, request_id: str) -> None:
        p = principal(req, self.ctx.verifier)
        limit, cursor = page_params(req)
        with self.ctx.uow() as uow:
            body = h.timeline_body(uow, self.ctx.table, p, request_id, limit, cursor)
        resp.media = body
