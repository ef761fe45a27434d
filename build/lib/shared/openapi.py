"""OpenAPI 3.1 from the same pydantic models that validate bodies."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any, Literal

from pydantic import BaseModel

from shared.contract import Operation
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


def _schema(model: type[BaseModel], components: dict[str, Any],
            mode: Literal["validation", "serialization"]) -> dict[str, Any]:
    schema = model.model_json_schema(ref_template="#/components/schemas/{model}", mode=mode)
    for name, sub in schema.pop("$defs", {}).items():
        components.setdefault(name, sub)
    components.setdefault(model.__name__, schema)
    return {"$ref": f"#/components/schemas/{model.__name__}"}


def document(title: str, operations: Iterable[Operation]) -> dict[str, Any]:
    components: dict[str, Any] = {"Problem": _PROBLEM}
    paths: dict[str, Any] = {}
    problem = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
    for op in operations:
        entry: dict[str, Any] = {
            "summary": op.summary,
            "operationId": re.sub(r"[^A-Za-z0-9]+", "_", f"{op.method} {op.path}").strip("_"),
            "responses": {"default": {"description": "A problem", "content": problem}},
        }
        params = [
            {"name": n, "in": "path", "required": True, "schema": {"type": "string"}}
            for n in re.findall(r"{(\w+)}", op.path)
        ]
        params += [{"name": q, "in": "query", "required": False, "schema": {"type": "string"}}
                   for q in op.query]
        if params:
            entry["parameters"] = params
        if op.auth == "bearer":
            entry["security"] = [{"bearer": []}]
        content: dict[str, Any] = {}
        if op.body is not None:
            content["application/json"] = {"schema": _schema(op.body, components, "validation")}
        if op.multipart:
            content["multipart/form-data"] = {"schema": {
                "type": "object",
                "properties": {n: ({"type": "string", "format": "binary"} if n == "file"
                                   else {"type": "string"}) for n in op.multipart},
            }}
        if content:
            entry["requestBody"] = {"required": True, "content": content}
        ok: dict[str, Any] = {"description": "OK"}
        if op.binary:
            # Files are served with the type their content was judged to be.
            ok["content"] = {t: {"schema": {"type": "string", "format": "binary"}}
                             for t in sorted(DOCUMENT_TYPES)}
        elif op.response is not None:
            ok["content"] = {"application/json": {
                "schema": _schema(op.response, components, "serialization")}}
        entry["responses"][str(op.status)] = ok
        paths.setdefault(op.path, {})[op.method.lower()] = entry
    return {
        "openapi": "3.1.0",
        "info": {"title": title, "version": "1.0.0"},
        "paths": paths,
        "components": {
            "schemas": components,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer",
                                           "bearerFormat": "JWT"}},
        },
    }


def merge(title: str, docs: Iterable[dict[str, Any]]) -> dict[str, Any]:
    merged = document(title, [])
    for doc in docs:
        merged["paths"].update(doc["paths"])
        merged["components"]["schemas"].update(doc["components"]["schemas"])
    return merged
