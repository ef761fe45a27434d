"""The HTTP edge every service shares: app factory, auth, error mapping, bodies, paging,
idempotent commands."""

from __future__ import annotations

import hashlib
import io
import json
import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import falcon
import orjson
from pydantic import BaseModel, ValidationError

from shared.clock import iso
from shared.context import ServiceContext
from shared.contract import Operation
from shared.errors import (
    BadRequest,
    Conflict,
    DomainError,
    IdempotencyKeyReused,
    PayloadTooLarge,
    UnsupportedMediaType,
    ValidationFailed,
)
from shared.files import FilePart, size_text
from shared.identity import Principal, Verifier
from shared.ids import sequence_id
from shared.logs import correlation_id, info_line
from shared.metrics import COMMANDS, labelled, observe_http
from shared.outbox import UnitOfWork
from shared.preconditions import Expected
from shared.settings import Settings
from shared.tables import ConditionFailed, Put, Table

log = logging.getLogger("atende.http")
M = TypeVar("M", bound=BaseModel)
PROBLEM = "application/problem+json"
_CID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")


# --- errors -------------------------------------------------------------------------


def _problem(resp: falcon.Response, status: int, code: str, title: str, detail: str,
             errors: list[dict[str, str]] | None = None) -> None:
    doc: dict[str, Any] = {"type": f"https://atende.gov.br/problems/{code}", "title": title,
                           "status": status, "detail": detail, "code": code}
    if errors:
        doc["errors"] = errors
    resp.status = falcon.code_to_http_status(status)
    resp.content_type = PROBLEM
    resp.text = None
    resp.data = orjson.dumps(doc)
    resp.stream = None


def _on_domain_error(req: falcon.Request, resp: falcon.Response, ex: DomainError,
                     params: dict[str, Any]) -> None:
    _problem(resp, ex.status, ex.code, ex.title, ex.detail, ex.errors)
    if ex.status == 401:
        resp.set_header("WWW-Authenticate", "Bearer")
    retry_after = getattr(ex, "retry_after", None)
    if retry_after is not None:
        resp.set_header("Retry-After", str(retry_after))


def _on_http_error(req: falcon.Request, resp: falcon.Response, ex: falcon.HTTPError,
                   params: dict[str, Any]) -> None:
    codes = {404: "not_found", 405: "method_not_allowed", 413: "payload_too_large",
             415: "unsupported_media_type", 400: "bad_request"}
    code = codes.get(ex.status_code, "error")
    _problem(resp, ex.status_code, code, ex.title or "Error", ex.description or ex.title or "")
    if ex.headers:
        for k, v in dict(ex.headers).items():
            resp.set_header(k, v)


def _on_unexpected(req: falcon.Request, resp: falcon.Response, ex: Exception,
                   params: dict[str, Any]) -> None:
    log.error("unhandled error", exc_info=ex, extra={"fields": {"path": req.path}})
    _problem(resp, 500, "internal", "Internal error", "unexpected error; it has been logged")


def validation_errors(exc: ValidationError) -> list[dict[str, str]]:
    out = []
    for err in exc.errors(include_url=False):
        loc = ".".join(str(p) for p in err["loc"]) or "body"
        out.append({"field": loc, "message": err["msg"]})
    return out


def _on_validation(req: falcon.Request, resp: falcon.Response, ex: ValidationError,
                   params: dict[str, Any]) -> None:
    errors = validation_errors(ex)
    _problem(resp, 422, "validation", "Validation failed",
             "; ".join(f"{e['field']}: {e['message']}" for e in errors), errors)


# --- middleware --------------------------------------------------------------------


class RequestContext:
    """Correlation id in and out, and one JSON access-log line per request."""

    # Kept in the WSGI environ, not req.context: it is on every request's path, and the
    # context object is made on first use, a cost that is a visible share of a cheap route.

    def __init__(self, service: str = "") -> None:
        self.service = service

    def process_request(self, req: falcon.Request, resp: falcon.Response) -> None:
        env = req.env
        given = env.get("HTTP_X_CORRELATION_ID")
        cid = given if given and _CID.match(given) else sequence_id()
        # Reset after the response: a server thread must not carry one request's id into
        # the next request's (or its own shutdown) log lines.
        env["atende.cid_token"] = correlation_id.set(cid)
        env["atende.started"] = time.perf_counter()
        resp.set_header("X-Correlation-ID", cid)

    def process_response(self, req: falcon.Request, resp: falcon.Response,
                         resource: object, req_succeeded: bool) -> None:
        env = req.env
        seconds = time.perf_counter() - env.get("atende.started", time.perf_counter())
        info_line(log, "http", {"method": req.method, "path": req.path,
                                "status": resp.status, "ms": round(seconds * 1000, 2)})
        # The route's template, never its path: a path carries ids.
        observe_http(self.service, req.method, req.uri_template or "unmatched",
                     str(resp.status), seconds)
        token = env.get("atende.cid_token")
        if token is not None:
            correlation_id.reset(token)


class QueryGuard:
    """A query parameter the route does not declare is refused (422), not ignored: a typo'd
    filter would otherwise return the unfiltered list as if it had worked."""

    def __init__(self, operations: list[Operation]) -> None:
        self.allowed = {(op.method, op.path): op.query_names for op in operations}

    def process_resource(self, req: falcon.Request, resp: falcon.Response,
                         resource: object, params: dict[str, Any]) -> None:
        allowed = self.allowed.get((req.method, req.uri_template or ""))
        if allowed is None:  # /health, /openapi.json: nothing declared to judge by
            return
        unknown = sorted(set(req.params) - allowed)
        if unknown:
            raise ValidationFailed.field(unknown[0][:100], "unknown query parameter")


class OpenApiResource:
    # Built on first request, not with the app: generating the schemas takes about a
    # quarter of a second, which every Lambda cold start would otherwise pay.
    def __init__(self, title: str, operations: list[Operation]) -> None:
        self.title, self.operations = title, operations
        self._doc: dict[str, Any] | None = None

    @property
    def doc(self) -> dict[str, Any]:
        if self._doc is None:
            from shared.openapi import document

            self._doc = document(self.title, self.operations)
        return self._doc

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.media = self.doc


class HealthResource:
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.media = {"status": "ok"}


def create_app(ctx: ServiceContext[Any], routes: dict[str, object],
               operations: list[Operation] | None = None, title: str = "Atende"
               ) -> falcon.App[Any, Any]:
    """A service's Falcon app: its routes plus /health and its own /openapi.json."""
    service = title.removeprefix("Atende").strip() or "atende"
    middleware: list[Any] = [RequestContext(service), QueryGuard(list(operations or []))]
    app = falcon.App(middleware=middleware)
    app.req_options.strip_url_path_trailing_slash = True
    app.req_options.auto_parse_qs_csv = False
    # orjson: writing JSON was a tenth of a list route's time with the json module.
    app.resp_options.media_handlers[falcon.MEDIA_JSON] = falcon.media.JSONHandler(
        dumps=orjson.dumps, loads=orjson.loads)
    app.add_error_handler(Exception, _on_unexpected)
    app.add_error_handler(falcon.HTTPError, _on_http_error)
    app.add_error_handler(DomainError, _on_domain_error)
    app.add_error_handler(ValidationError, _on_validation)
    for path, resource in routes.items():
        app.add_route(path, resource)
    app.add_route("/health", HealthResource())
    app.add_route("/openapi.json", OpenApiResource(title, list(operations or [])))
    return app


# --- identity ----------------------------------------------------------------------


def principal(req: falcon.Request, verifier: Verifier) -> Principal:
    """The verified caller, or 401."""
    cached = getattr(req.context, "principal", None)
    if cached is None:
        cached = verifier.from_header(req.get_header("Authorization"))
        req.context.principal = cached
    return cached


# --- bodies ------------------------------------------------------------------------


def read_body(req: falcon.Request, limit: int, settings_named: str = "") -> bytes:
    """The body, refused (413) from its declared length before it is read, or as soon as
    more than ``limit`` bytes arrive; the refusal names the cap and the settings making it."""
    detail = f"the body is larger than the {size_text(limit)} cap" + (
        f" ({settings_named})" if settings_named else "")
    if req.content_length is not None and req.content_length > limit:
        raise PayloadTooLarge(detail)
    data = req.bounded_stream.read(limit + 1)
    if len(data) > limit:
        raise PayloadTooLarge(detail)
    req.context.raw_body = data
    return data


def json_body(req: falcon.Request, model: type[M], settings: Settings) -> M:
    """Parse and validate a JSON body: 415 if not JSON, 413 if too large, 400 if malformed,
    422 if it does not fit the model."""
    media = (req.content_type or "").split(";")[0].strip().lower()
    if media != "application/json":
        raise UnsupportedMediaType("expected application/json")
    raw = read_body(req, settings.max_json_bytes, "ATENDE_MAX_JSON_BYTES")
    try:
        doc = orjson.loads(raw or b"null")
    except orjson.JSONDecodeError:
        # orjson refuses some well-formed JSON: integers beyond 64 bits and unpaired
        # surrogate escapes, which nothing here can store or send back. Those are 422;
        # only what no JSON parser reads is malformed.
        try:
            json.loads(raw)
        except json.JSONDecodeError as exc:
            raise BadRequest(f"body is not valid JSON: {exc.msg} at line {exc.lineno}, "
                             f"column {exc.colno}") from exc
        except (ValueError, RecursionError) as exc:
            raise BadRequest("body is not valid JSON") from exc
        raise ValidationFailed.field(
            "body", "integers beyond 64 bits and unpaired surrogates are not accepted"
        ) from None
    if not isinstance(doc, dict):
        raise ValidationFailed.field("body", "expected a JSON object")
    return model.model_validate(doc)


@dataclass
class MultipartBody:
    fields: dict[str, str]
    files: list[FilePart]


def is_multipart(req: falcon.Request) -> bool:
    return (req.content_type or "").lower().startswith("multipart/form-data")


def multipart_body(req: falcon.Request, settings: Settings, *, max_files: int) -> MultipartBody:
    """Parse a multipart form whole, bounded by the total cap before any parsing."""
    limit = settings.max_file_bytes * max(1, max_files) + settings.max_json_bytes
    raw = read_body(req, limit, f"ATENDE_MAX_FILE_BYTES x {max(1, max_files)} file(s) + "
                                "ATENDE_MAX_JSON_BYTES")
    handler = falcon.media.MultipartFormHandler()
    handler.parse_options.max_body_part_count = max_files + 16
    handler.parse_options.max_body_part_buffer_size = limit
    fields: dict[str, str] = {}
    files: list[FilePart] = []
    try:
        form = handler.deserialize(io.BytesIO(raw), req.content_type, len(raw))
        for part in form:
            name = part.name or ""
            if part.filename is not None:
                files.append(FilePart(name, part.filename, part.get_data()))
            else:
                if name in fields:
                    raise ValidationFailed.field(name, "given more than once")
                fields[name] = part.get_text() or ""
    except falcon.HTTPError as exc:
        if exc.status_code == 413:
            raise PayloadTooLarge("too many parts or too large") from exc
        raise BadRequest(f"malformed multipart body: {exc.description or exc.title}") from exc
    except UnicodeDecodeError as exc:
        raise BadRequest("form fields must be UTF-8") from exc
    if len(files) > max_files:
        raise PayloadTooLarge(f"at most {max_files} files per request")
    return MultipartBody(fields, files)


# --- paging ------------------------------------------------------------------------


def page_params(req: falcon.Request) -> tuple[int, str | None]:
    raw = req.get_param("limit")
    limit = 20
    if raw is not None:
        # ASCII digits only: str.isdigit also accepts "²" and "①", which int() refuses.
        if not (raw.isascii() and raw.isdigit() and len(raw) <= 3) or not 1 <= int(raw) <= 100:
            raise ValidationFailed.field("limit", "must be an integer from 1 to 100")
        limit = int(raw)
    return limit, req.get_param("cursor") or None


# --- commands ----------------------------------------------------------------------

def expected_version(req: falcon.Request) -> Expected:
    """The request's ``If-Match``, for handlers that refuse a stale write (412)."""
    return Expected.parse(req.get_header("If-Match"))


def run_command(
    ctx: ServiceContext[Any],
    req: falcon.Request,
    resp: falcon.Response,
    command: Callable[[UnitOfWork], BaseModel | dict[str, Any]],
    *,
    status: int = 200,
    caller: str = "anonymous",
    attempts: int = 3,
) -> None:
    """Run a command in a unit of work and answer with its result.

    ``Idempotency-Key``: the first 2xx response is stored in the same transaction as the
    command's effect; a repeat with the same body gets it back, another body gets 409.
    A lost optimistic-concurrency race is retried on fresh state, so the loser sees the
    state the winner made (a 409 ``invalid_transition``, typically), not a spurious error.
    """
    key = req.get_header("Idempotency-Key")
    idem_sk = body_hash = None
    if key is not None:
        if not 1 <= len(key) <= 200:
            raise ValidationFailed.field("Idempotency-Key", "must be 1 to 200 characters")
        raw = getattr(req.context, "raw_body", b"")
        body_hash = hashlib.sha256(raw).hexdigest()
        scope = hashlib.sha256(f"{caller}\n{req.method} {req.path}\n{key}".encode()).hexdigest()
        idem_sk = scope
        if _replay(ctx.table, idem_sk, body_hash, resp):
            return
    for attempt in range(attempts):
        with ctx.uow() as uow:
            result = command(uow)
            body = result.model_dump(mode="json") if isinstance(result, BaseModel) else result
            if idem_sk is not None:
                uow.add(Put({"pk": "IDEM", "sk": idem_sk, "body_hash": body_hash,
                             "status": status, "body": body,
                             "created_at": iso(ctx.clock.now())}, must_not_exist=True))
            try:
                uow.commit()
            except ConditionFailed:
                if idem_sk is not None and _replay(ctx.table, idem_sk, body_hash, resp):
                    return
                if attempt == attempts - 1:
                    raise Conflict("the resource changed concurrently; try again") from None
                continue
        labelled(COMMANDS, ctx.table.name, f"{req.method} {req.uri_template}", "done").inc()
        resp.status = falcon.code_to_http_status(status)
        resp.media = body
        return


def _replay(table: Table, sk: str, body_hash: str | None, resp: falcon.Response) -> bool:
    stored = table.get("IDEM", sk)
    if stored is None:
        return False
    if stored["body_hash"] != body_hash:
        raise IdempotencyKeyReused("this Idempotency-Key was used with another body")
    resp.status = falcon.code_to_http_status(stored["status"])
    resp.media = stored["body"]
    resp.set_header("Idempotent-Replayed", "true")
    return True


def send_file(resp: falcon.Response, data: bytes, content_type: str, filename: str) -> None:
    resp.content_type = content_type
    resp.data = data
    ascii_name = filename.encode("ascii", "replace").decode().replace("?", "_")
    from urllib.parse import quote

    resp.set_header(
        "Content-Disposition",
        f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename)}",
    )
    resp.set_header("X-Content-Type-Options", "nosniff")
