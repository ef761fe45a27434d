"""The local gateway: routes by path to the services' WSGI apps, as API Gateway would, and
answers the platform's own routes: /health, /health/ready, /metrics, /openapi.json, /docs."""

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
_NOT_FOUND = json.dumps({"type": "https://atende.gov.br/problems/not_found",
                         "title": "Not found", "status": 404, "code": "not_found",
                         "detail": "no such route"}).encode()


def service_for(path: str) -> str | None:
    nested = _NESTED.match(path)
    if nested:
        return _NESTED_SERVICE[nested.group(1)]
    first = path.strip("/").split("/", 1)[0]
    return _TOP.get(first)


def _send(start_response: Callable[..., Any], status: str, body: bytes,
          ctype: str = "application/json", extra: Iterable[tuple[str, str]] = ()
          ) -> list[bytes]:
    start_response(status, [("Content-Type", ctype), ("Content-Length", str(len(body))),
                            *extra])
    return [body]


class Gateway:
    """``platform`` (when the process runs one) answers readiness and metrics; the AWS
    gateway function has none and serves the documents only."""

    def __init__(self, apps: dict[str, WSGIApp],
                 openapi: Callable[[], list[dict[str, Any]]], platform: Any = None) -> None:
        self.apps = apps
        self._documents = openapi
        self._openapi: bytes | None = None
        self.platform = platform

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
        name = service_for(path)
        app = self.apps.get(name) if name else None
        if app is not None:
            return app(environ, start_response)
        if environ.get("REQUEST_METHOD", "GET") in ("GET", "HEAD"):
            answer = self._own(path.rstrip("/") or "/", start_response)
            if answer is not None:
                return answer
        return _send(start_response, "404 Not Found", _NOT_FOUND, "application/problem+json")

    def _own(self, path: str, start_response: Callable[..., Any]) -> list[bytes] | None:
        if path == "/health":
            return _send(start_response, "200 OK", b'{"status":"ok"}')
        if path == "/openapi.json":
            return _send(start_response, "200 OK", self.openapi)
        if path == "/docs" or path.startswith("/docs/assets/"):
            return self._docs(path, start_response)
        if self.platform is None:
            return None
        if path == "/health/ready":
            return ready_answer(self.platform, start_response)
        if path == "/metrics":
            from shared.metrics import CONTENT_TYPE, exposition

            return _send(start_response, "200 OK", exposition(self.platform), CONTENT_TYPE)
        return None

    @staticmethod
    def _docs(path: str, start_response: Callable[..., Any]) -> list[bytes] | None:
        from infra import docs

        if path == "/docs":
            return _send(start_response, "200 OK", docs.PAGE, "text/html; charset=utf-8",
                         [("Content-Security-Policy", docs.CSP),
                          ("X-Content-Type-Options", "nosniff")])
        found = docs.asset(path.removeprefix("/docs/assets/"))
        if found is None:
            return None
        return _send(start_response, "200 OK", found[0], found[1],
                     [("Cache-Control", "public, max-age=86400"),
                      ("X-Content-Type-Options", "nosniff")])


def ready_answer(platform: Any, start_response: Callable[..., Any]) -> list[bytes]:
    """200 when the store, the broker and the outbox are fine; else 503 naming what is not."""
    from shared.health import readiness

    ok, checks = readiness(platform)
    failing = [name for name, c in checks.items() if c["status"] != "ok"]
    doc = {"status": "ready" if ok else "unavailable", "failing": failing, "checks": checks}
    status = "200 OK" if ok else "503 Service Unavailable"
    return _send(start_response, status, json.dumps(doc).encode(), extra=[
        ("Cache-Control", "no-store")])


def gateway_for(platform: Any) -> Gateway:
    from shared.openapi import document

    def documents() -> list[dict[str, Any]]:
        return [document(name, list(svc.operations))
                for name, svc in platform.services.items()]

    return Gateway(platform.apps, documents, platform)
