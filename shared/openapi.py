"""OpenAPI 3.1 from the same pydantic models that validate bodies, and from each route's
declaration: its summary and description, tag (the service), example body, typed query
parameters, required multipart parts, and every 4xx answer it can give."""

from __future__ import annotations

import re
from collections.abc import Iterable
from copy import deepcopy
from typing import Any, Literal

from pydantic import BaseModel

from shared.contract import ErrorRef, Operation
from shared.files import DOCUMENT_TYPES

_PROBLEM = {
    "type": "object",
    "required": ["type", "title", "status", "detail", "code"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "code": {"type": "string"},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {"field": {"type": "string"}, "message": {"type": "string"}},
            },
        },
    },
}

# The kernel's problem codes: their status and what they mean. A service's own code is
# declared by its error class (shared.contract.ErrorRef).
CODES: dict[str, tuple[int, str]] = {
    "bad_request": (400, "the body is not valid JSON or multipart (the detail says where)"),
    "unauthorized": (401, "no bearer token, or one that is expired, wrongly signed or not "
                          "for this platform"),
    "forbidden": (403, "the caller may see this but not do that"),
    "attendant_not_enabled": (403, "an attendant without an enabled roster entry of the "
                                   "org and unit"),
    "conflict_of_interest": (403, "staff acting on their own request"),
    "not_found": (404, "no such resource, or one the caller may not see"),
    "invalid_transition": (409, "not allowed in the request's (or meeting's) current state"),
    "conflict": (409, "a concurrent change won, or the time is taken; try again"),
    "idempotency_key_reused": (409, "this Idempotency-Key came with another body"),
    "view_behind": (409, "this service has not yet caught up with the request version "
                         "named in If-Match; retry after Retry-After seconds"),
    "precondition_failed": (412, "If-Match names a version of the request that is no "
                                 "longer current"),
    "payload_too_large": (413, "over the size cap (the detail names it and its setting)"),
    "unsupported_media_type": (415, "another content type than the route takes"),
    "validation": (422, "a field, query parameter or answer is invalid (see errors)"),
}

def _schema(model: type[BaseModel], components: dict[str, Any],
            mode: Literal["validation", "serialization"]) -> dict[str, Any]:
    schema = model.model_json_schema(ref_template="#/components/schemas/{model}", mode=mode)
    for name, sub in schema.pop("$defs", {}).items():
        components.setdefault(name, sub)
    components.setdefault(model.__name__, schema)
    return {"$ref": f"#/components/schemas/{model.__name__}"}


def error_codes(op: Operation) -> dict[str, tuple[int, str]]:
    """Every problem code ``op`` can answer, with its status and meaning: those its shape
    implies, then its own."""
    codes: list[ErrorRef] = []
    if op.auth == "bearer":
        codes.append("unauthorized")
    if "{" in op.path:
        codes.append("not_found")
    if op.body is not None or op.multipart:
        codes += ["bad_request", "payload_too_large", "unsupported_media_type", "validation"]
    if op.query:
        codes.append("validation")
    if op.method == "POST":
        codes.append("idempotency_key_reused")
    codes += op.errors
    out: dict[str, tuple[int, str]] = {}
    for ref in codes:
        if isinstance(ref, str):
            if ref not in CODES:
                raise KeyError(f"{op.method} {op.path}: {ref!r} is no kernel problem code; "
                               "a service's own is given as its error class")
            out.setdefault(ref, CODES[ref])
        else:
            out.setdefault(ref.code, (ref.status, ref.meaning))
    return out


def _responses(op: Operation) -> dict[str, Any]:
    by_status: dict[int, list[tuple[str, str]]] = {}
    for code, (status, meaning) in error_codes(op).items():
        by_status.setdefault(status, []).append((code, meaning))
    out: dict[str, Any] = {}
    for status, codes in sorted(by_status.items()):
        first, detail = codes[0]
        example = {"type": f"https://atende.gov.br/problems/{first}", "title": first,
                   "status": status, "detail": detail, "code": first}
        response: dict[str, Any] = {
            "description": "; ".join(f"`{c}`: {meaning}" for c, meaning in codes),
            "content": {"application/problem+json": {
                "schema": {"$ref": "#/components/schemas/Problem"}, "example": example}},
        }
        if any(c == "view_behind" for c, _ in codes):
            response["headers"] = {"Retry-After": {
                "description": "seconds to wait before retrying (view_behind)",
                "schema": {"type": "integer"}}}
        out[str(status)] = response
    return out


def _parameters(op: Operation) -> list[dict[str, Any]]:
    params = [{"name": n, "in": "path", "required": True, "schema": {"type": "string"}}
              for n in re.findall(r"{(\w+)}", op.path)]
    for q in op.query:
        param: dict[str, Any] = {"name": q.name, "in": "query", "required": q.required,
                                 "schema": deepcopy(dict(q.schema)), "description": q.description}
        if q.schema.get("type") == "array":
            param.update(style="form", explode=True)
        params.append(param)
    codes = set(op.error_codes)
    if codes & {"precondition_failed", "view_behind"}:
        params.append({"name": "If-Match", "in": "header", "required": False,
                       "schema": {"type": "string"}, "example": '"3"',
                       "description": "the request's ETag as last read (its detail's "
                                      "or a command's answer's)"})
    if op.method == "POST":
        params.append({"name": "Idempotency-Key", "in": "header", "required": False,
                       "schema": {"type": "string", "minLength": 1, "maxLength": 200},
                       "description": "a repeat with the same key and body gets the first "
                                      "answer and does nothing again"})
    return params


def _multipart(op: Operation) -> dict[str, Any]:
    props = {n: ({"type": "array", "items": {"type": "string", "format": "binary"}}
                 if n == "file" and "body" in op.multipart
                 else {"type": "string", "format": "binary"} if n == "file"
                 else {"type": "string"}) for n in op.multipart}
    schema: dict[str, Any] = {"type": "object", "properties": props}
    if op.required_parts:
        schema["required"] = list(op.required_parts)
    return {"schema": schema, "encoding": {"file": {
        "contentType": ", ".join(sorted(DOCUMENT_TYPES))}} if "file" in props else {}}


def document(title: str, operations: Iterable[Operation]) -> dict[str, Any]:
    components: dict[str, Any] = {"Problem": _PROBLEM}
    paths: dict[str, Any] = {}
    tags: dict[str, None] = {}
    for op in operations:
        tag = op.tag or title.removeprefix("Atende").strip() or title
        tags[tag] = None
        entry: dict[str, Any] = {
            "summary": op.summary,
            "tags": [tag],
            "operationId": re.sub(r"[^A-Za-z0-9]+", "_", f"{op.method} {op.path}").strip("_"),
            "responses": {"default": {"description": "Another problem", "content": {
                "application/problem+json": {
                    "schema": {"$ref": "#/components/schemas/Problem"}}}}},
        }
        if op.description:
            entry["description"] = op.description
        params = _parameters(op)
        if params:
            entry["parameters"] = params
        if op.auth == "bearer":
            entry["security"] = [{"bearer": []}]
        content: dict[str, Any] = {}
        if op.body is not None:
            content["application/json"] = {"schema": _schema(op.body, components, "validation")}
            if op.example is not None:
                content["application/json"]["example"] = op.example
        if op.multipart:
            content["multipart/form-data"] = _multipart(op)
        if content:
            entry["requestBody"] = {"required": op.body is not None or bool(op.required_parts),
                                    "content": content}
        ok: dict[str, Any] = {"description": "OK" if op.status == 200 else "Created"}
        if op.binary:
            # Files are served with the type their content was judged to be.
            ok["content"] = {t: {"schema": {"type": "string", "format": "binary"}}
                             for t in sorted(DOCUMENT_TYPES)}
        elif op.response is not None:
            ok["content"] = {"application/json": {
                "schema": _schema(op.response, components, "serialization")}}
        entry["responses"][str(op.status)] = ok
        entry["responses"].update(_responses(op))
        paths.setdefault(op.path, {})[op.method.lower()] = entry
    return {
        "openapi": "3.1.0",
        "info": {"title": title, "version": "1.0.0"},
        "tags": [{"name": t} for t in tags],
        "paths": paths,
        "components": {
            "schemas": components,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer",
                                           "bearerFormat": "JWT"}},
        },
    }


def merge(title: str, docs: Iterable[dict[str, Any]], description: str = "") -> dict[str, Any]:
    """The services' documents as one; ``description`` (the bootstrap's: what the platform
    does with its services) heads it."""
    merged = document(title, [])
    merged["info"]["description"] = " ".join(
        filter(None, [description, "Errors are application/problem+json."]))
    for doc in docs:
        for path, ops in doc["paths"].items():
            merged["paths"].setdefault(path, {}).update(ops)
        merged["components"]["schemas"].update(doc["components"]["schemas"])
        merged["tags"] += [t for t in doc.get("tags", []) if t not in merged["tags"]]
    return merged
