"""Documents that go straight to and from S3 (docs/uploads.md, *Direct uploads*).

A file over what a Lambda invocation carries cannot pass through the function. The owning
citizen asks for an upload slot and gets a presigned POST that S3 honours only for the
slot's key (ours), the size cap and the declared type; the file is then judged where it
lies, by the same judge as a multipart upload, and attached only if it passes. Large
downloads answer a redirect to a presigned GET, after the same authorization.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import falcon

from services.requests import handlers as h
from services.requests import store
from services.requests.schemas import DocumentOut, UploadIn, UploadOut
from shared.blobs import Blobs
from shared.blobs_s3 import S3Blobs
from shared.clock import Clock, iso
from shared.context import ServiceContext
from shared.errors import (
    Conflict,
    Forbidden,
    NotFound,
    PayloadTooLarge,
    UnsupportedMediaType,
    ValidationFailed,
)
from shared.files import DOCUMENT_TYPES, Upload, accept, check_plain_name, size_text
from shared.http import expected_version, json_body, principal, run_command
from shared.identity import Principal
from shared.ids import new_id
from shared.outbox import UnitOfWork
from shared.preconditions import Expected
from shared.roster import require_enabled
from shared.settings import Settings

Doc = dict[str, Any]


def direct_store(blobs: Blobs) -> S3Blobs:
    if isinstance(blobs, S3Blobs):
        return blobs
    raise Conflict("direct uploads need the S3 blob store; on this platform send the file "
                   "as multipart/form-data to POST /requests/{id}/documents")


def _slot_sk(upload_id: str) -> str:
    return f"UPLOAD#{upload_id}"


def open_slot(uow: UnitOfWork, blobs: Blobs, settings: Settings, p: Principal,
              request_id: str, body: UploadIn, clock: Clock) -> UploadOut:
    """A slot for one file of the request, and the form that posts it to S3."""
    p = require_enabled(p, uow)
    req = h.visible(uow, p, request_id)
    req.may_add_document(p.sub)
    s3 = direct_store(blobs)
    if body.content_type not in DOCUMENT_TYPES:
        raise UnsupportedMediaType("content_type must be one of: application/pdf, "
                                   "image/jpeg, image/png")
    if body.size > settings.max_file_bytes:
        raise PayloadTooLarge(f"file larger than {size_text(settings.max_file_bytes)} "
                              "(ATENDE_MAX_FILE_BYTES)")
    check_plain_name(body.filename)
    key = body.key
    service = store.get_service(uow, req.service_id) or {}
    if key is not None and key not in {d["key"] for d in service.get("documents", [])}:
        raise ValidationFailed.field("key", "not a document this service asks for")
    upload_id = new_id()
    expires_at = iso(clock.now() + timedelta(seconds=settings.blob_url_seconds))
    form = s3.upload_form(upload_id, content_type=body.content_type,
                          max_bytes=settings.max_file_bytes, expires=settings.blob_url_seconds)
    uow.save({"pk": f"REQ#{request_id}", "sk": _slot_sk(upload_id), "version": 1,
              "citizen": p.sub, "key": key, "filename": body.filename,
              "content_type": body.content_type, "url_expires_at": expires_at,
              "document": None})
    return UploadOut(upload_id=upload_id, url=form["url"], fields=form["fields"],
                     expires_at=expires_at)


def slot_of(uow: UnitOfWork, p: Principal, request_id: str, upload_id: str) -> Doc:
    """The caller's slot: 404 unless they may see the request, 403 unless it is theirs."""
    p = require_enabled(p, uow)
    req = h.visible(uow, p, request_id)
    if not req.is_citizen(p.sub):
        raise Forbidden("only the citizen who made the request adds documents")
    slot = uow.get(f"REQ#{request_id}", _slot_sk(upload_id))
    if slot is None or slot.get("citizen") != p.sub:
        raise NotFound("no such upload")
    return slot


def attach(uow: UnitOfWork, blobs: Blobs, p: Principal, request_id: str, upload_id: str,
           upload: Upload, expected: Expected, clock: Clock) -> DocumentOut:
    slot = slot_of(uow, p, request_id, upload_id)
    if slot["document"] is not None:  # a concurrent completion won: its document
        return DocumentOut.model_validate(slot["document"])
    out = h.add_document(uow, blobs, p, request_id, upload, slot["key"], expected, clock)
    uow.save({**slot, "version": int(slot["version"]) + 1,
              "document": out.model_dump(mode="json")})
    return out


def _judged(s3: S3Blobs, settings: Settings, slot: Doc, upload_id: str) -> Upload:
    """The uploaded file, judged as a multipart one is; deleted from S3 if refused."""
    data = s3.read_upload(upload_id, settings.max_file_bytes)
    if data is None:
        raise Conflict("nothing has been uploaded for this slot: post the file to its url "
                       "(within its expires_at) first")
    try:
        return accept(slot["filename"], data, allowed=DOCUMENT_TYPES,
                      max_bytes=settings.max_file_bytes)
    except (PayloadTooLarge, UnsupportedMediaType, ValidationFailed):
        s3.drop_upload(upload_id)
        raise


class Uploads:
    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx

    def on_post(self, req: falcon.Request, resp: falcon.Response, request_id: str) -> None:
        p = principal(req, self.ctx.verifier)
        body = json_body(req, UploadIn, self.ctx.settings)
        run_command(self.ctx, req, resp, lambda uow: open_slot(
            uow, self.ctx.blobs, self.ctx.settings, p, request_id, body, self.ctx.clock),
            status=201, caller=p.sub)


class UploadCompletion:
    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx

    def _slot(self, p: Principal, request_id: str, upload_id: str) -> Doc:
        with self.ctx.uow() as uow:
            return slot_of(uow, p, request_id, upload_id)

    def on_post(self, req: falcon.Request, resp: falcon.Response, request_id: str,
                upload_id: str) -> None:
        p = principal(req, self.ctx.verifier)
        slot = self._slot(p, request_id, upload_id)
        s3 = direct_store(self.ctx.blobs)
        upload = None
        if slot["document"] is None:
            try:
                upload = _judged(s3, self.ctx.settings, slot, upload_id)
            except Conflict:
                # Nothing there: not uploaded yet, or attached (and deleted) just now by a
                # completion running at the same time.
                slot = self._slot(p, request_id, upload_id)
                if slot["document"] is None:
                    raise
        if upload is None:  # done before: the same answer, nothing done again
            resp.status = falcon.HTTP_201
            resp.media = DocumentOut.model_validate(slot["document"]).model_dump(mode="json")
            return
        expected = expected_version(req)
        run_command(self.ctx, req, resp, lambda uow: attach(
            uow, s3, p, request_id, upload_id, upload, expected, self.ctx.clock),
            status=201, caller=p.sub)
        # Stored under its hash now; the slot's object has served its purpose.
        s3.drop_upload(upload_id)
