"""The local gateway: routes by path to the services' WSGI apps, as API Gateway would."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from typing import Any

from shared.openapi import merge

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]

_NESTED = re.compile(r"^/requests/[^/]+/(followups|meetings|review)(/|$)")
_TOP = {"notifications": "followups", "meetings": "meetings", "reviews": "reviews",
        "catalog": "requests", "attendants": "requests", "requests": "requests"}
_NESTED_SERVICE = {"followups": "followups", "meetings": "meetings", "review": "reviews"}


def service_for(path: str) -> str | None:
    nested = _NESTED.match(path)
    if nested:
        return _NESTED_SERVICE[nested.group(1)]
    first = path.strip("/").split("/", 1)[0]
    return _TOP.get(first)


class Gateway:
    def __init__(self, apps: dict[str, WSGIApp],
                 openapi: Callable[[], list[dict[str, Any]]],
                 console: WSGIApp | None = None) -> None:
        self.apps = apps
        self.console = console
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
        if self.console is not None and (path == "/console" or path.startswith("/console/")):
            return self.console(environ, start_response)
        name = service_for(path)
        app = self.apps.get(name) if name else None
        if app is None:
            body = json.dumps({"type": "https://atende.gov.br/problems/not_found",
                               "title": "Not found", "status": 404, "code": "not_found",
                               "detail": "no such route"}).encode()
            return self._json(start_response, "404 Not Found", body,
                              "application/problem+json")
        return app(environ, start_response)

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

    return Gateway(platform.apps, documents, platform.console)
