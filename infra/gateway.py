"""The local gateway: routes by path to the services' WSGI apps, as API Gateway would, and
refuses a body larger than any route accepts before it is read."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from typing import Any

from shared.files import size_text
from shared.openapi import merge
from shared.settings import Settings

_PROBLEM = "application/problem+json"
WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]

_NESTED = re.compile(r"^/requests/[^/]+/(followups|meetings|review)(/|$)")
_TOP = {"notifications": "followups", "meetings": "meetings", "reviews": "reviews",
        "catalog": "requests", "attendants": "requests", "requests": "requests"}
_NESTED_SERVICE = {"followups": "followups", "meetings": "meetings", "review": "reviews"}
_CAP_SETTINGS = "ATENDE_MAX_FILE_BYTES x ATENDE_MAX_FILES_PER_POST + ATENDE_MAX_JSON_BYTES"


def problem(status: int, code: str, title: str, detail: str) -> bytes:
    return json.dumps({"type": f"https://atende.gov.br/problems/{code}", "title": title,
                       "status": status, "code": code, "detail": detail}).encode()


def too_large(cap: int) -> bytes:
    return problem(413, "payload_too_large", "Payload too large",
                   f"request body larger than {size_text(cap)}, the most any route accepts "
                   f"({_CAP_SETTINGS})")


def service_for(path: str) -> str | None:
    nested = _NESTED.match(path)
    if nested:
        return _NESTED_SERVICE[nested.group(1)]
    first = path.strip("/").split("/", 1)[0]
    return _TOP.get(first)


class Gateway:
    def __init__(self, apps: dict[str, WSGIApp],
                 openapi: Callable[[], list[dict[str, Any]]], max_body: int | None = None) -> None:
        self.apps = apps
        self.max_body = Settings().max_body_bytes if max_body is None else max_body
        self._documents = openapi
        self._openapi: bytes | None = None

    @property
    def openapi(self) -> bytes:
        # Built on first request: generating the schemas takes about a quarter of a second,
        # which every start (and every test platform) would otherwise pay.
        if self._openapi is None:
            self._openapi = json.dumps(merge("Atende", self._documents())).encode()
        return self._openapi

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]
                 ) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "/")
        if path in ("/health", "/health/"):
            return self._json(start_response, "200 OK", b'{"status":"ok"}')
        if path == "/openapi.json":
            return self._json(start_response, "200 OK", self.openapi)
        if self._declared_length(environ) > self.max_body:
            # Before routing: neither an unknown route nor a missing token may make a
            # server read the body. (Waitress refuses it earlier, from the same cap.)
            return self._json(start_response, "413 Payload Too Large",
                              too_large(self.max_body), _PROBLEM)
        name = service_for(path)
        app = self.apps.get(name) if name else None
        if app is None:
            body = problem(404, "not_found", "Not found", "no such route")
            return self._json(start_response, "404 Not Found", body, _PROBLEM)
        return app(environ, start_response)

    @staticmethod
    def _declared_length(environ: dict[str, Any]) -> int:
        raw = environ.get("CONTENT_LENGTH") or "0"
        return int(raw) if raw.isdigit() else 0  # a malformed one is the service's 400

    @staticmethod
    def _json(start_response: Callable[..., Any], status: str, body: bytes,
              ctype: str = "application/json") -> list[bytes]:
        start_response(status, [("Content-Type", ctype), ("Content-Length", str(len(body)))])
        return [body]


def gateway_for(platform: Any) -> Gateway:
    from shared.openapi import document

    def documents() -> list[dict[str, Any]]:
        return [document(name, list(svc.operations))
                for name, svc in platform.services.items()]

    return Gateway(platform.apps, documents, platform.settings.max_body_bytes)
