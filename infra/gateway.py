"""The local gateway: routes by path to the services' WSGI apps, as API Gateway would, and
refuses a body larger than any route accepts before it is read, and answers the platform's
own routes: /health, /health/ready, /metrics, /openapi.json, /docs."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from functools import cache
from typing import Any

from falcon.routing import CompiledRouter

from shared.contract import Contract
from shared.files import size_text
from shared.openapi import merge

_PROBLEM = "application/problem+json"
# The merged document's introduction: what the services do together.
DESCRIPTION = ("Atende: a citizen asks a state institution for a service; attendants analyse, "
               "approve or reject, attend it through follow-ups and meetings, conclude it, "
               "and moderate the reviews citizens leave.")
WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class Routes:
    """Path -> service, from the operations the services declare: the longest prefix of
    the path that is a declared route (``/requests/r1/followups/x`` is the followups
    service's because ``/requests/{request_id}/followups`` is), else the service with the
    shortest route under the path's first segment (``/catalog`` is the requests service's),
    as API Gateway's ``{proxy+}`` routes send whole subtrees to one function."""

    def __init__(self, contracts: Iterable[Contract]) -> None:
        self._router = CompiledRouter()
        seen: dict[str, str] = {}
        for contract in contracts:
            for op in contract.operations:
                owner = seen.setdefault(op.path, contract.name)
                if owner != contract.name:
                    raise ValueError(f"{op.path} is declared by {owner} and {contract.name}")
        self._top: dict[str, str] = {}
        for template, service in sorted(seen.items(), key=lambda kv: len(kv[0])):
            self._router.add_route(template, _Owner(service))
            self._top.setdefault(template.strip("/").split("/", 1)[0], service)

    def service_for(self, path: str) -> str | None:
        segments = path.strip("/").split("/")
        for n in range(len(segments), 0, -1):
            found = self._router.find("/" + "/".join(segments[:n]))
            if found is not None:
                owner = found[0]
                assert isinstance(owner, _Owner)
                return owner.service
        return self._top.get(segments[0])


_CAP_SETTINGS = "ATENDE_MAX_FILE_BYTES x ATENDE_MAX_FILES_PER_POST + ATENDE_MAX_JSON_BYTES"


def problem(status: int, code: str, title: str, detail: str) -> bytes:
    return json.dumps({"type": f"https://atende.gov.br/problems/{code}", "title": title,
                       "status": status, "code": code, "detail": detail}).encode()


def too_large(cap: int) -> bytes:
    return problem(413, "payload_too_large", "Payload too large",
                   f"request body larger than {size_text(cap)}, the most any route accepts "
                   f"({_CAP_SETTINGS})")


class _Owner:
    """What the router finds for a route: the service it belongs to."""

    def __init__(self, service: str) -> None:
        self.service = service


def _send(start_response: Callable[..., Any], status: str, body: bytes,
          ctype: str = "application/json", extra: Iterable[tuple[str, str]] = ()
          ) -> list[bytes]:
    start_response(status, [("Content-Type", ctype), ("Content-Length", str(len(body))),
                            *extra])
    return [body]


class Gateway:
    """``platform`` (when the process runs one) answers readiness and metrics; the AWS
    gateway function has none and serves the documents only."""

    def __init__(self, apps: dict[str, WSGIApp], routes: Routes,
                 openapi: Callable[[], list[dict[str, Any]]], max_body: int,
                 platform: Any = None, console: WSGIApp | None = None) -> None:
        self.apps = apps
        self.routes = routes
        self.max_body = max_body
        self.console = console
        self._documents = openapi
        self._openapi: bytes | None = None
        self.platform = platform

    @property
    def openapi(self) -> bytes:
        # Built on first request: generating the schemas takes about a quarter of a second,
        # which every start (and every test platform) would otherwise pay.
        if self._openapi is None:
            self._openapi = json.dumps(merge("Atende", self._documents(), DESCRIPTION)).encode()
        return self._openapi

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]
                 ) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "/")
        if self._declared_length(environ) > self.max_body:
            # Before routing: neither an unknown route nor a missing token may make a
            # server read the body. (Waitress refuses it earlier, from the same cap.)
            return _send(start_response, "413 Payload Too Large", too_large(self.max_body),
                         _PROBLEM)
        if self.console is not None and (path == "/console" or path.startswith("/console/")):
            return self.console(environ, start_response)
        name = self.routes.service_for(path)
        app = self.apps.get(name) if name else None
        if app is not None:
            return app(environ, start_response)
        if environ.get("REQUEST_METHOD", "GET") in ("GET", "HEAD"):
            answer = self._own(path.rstrip("/") or "/", start_response)
            if answer is not None:
                return answer
        return _send(start_response, "404 Not Found",
                     problem(404, "not_found", "Not found", "no such route"), _PROBLEM)

    @staticmethod
    def _declared_length(environ: dict[str, Any]) -> int:
        raw = environ.get("CONTENT_LENGTH") or "0"
        return int(raw) if raw.isdigit() else 0  # a malformed one is the service's 400
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
            if not self.platform.settings.metrics:  # ATENDE_METRICS=false: nothing counted
                return _send(start_response, "404 Not Found",
                             problem(404, "not_found", "Not found",
                                     "metrics are off (ATENDE_METRICS=false)"), _PROBLEM)
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


@cache
def platform_routes() -> Routes:
    """The routes of every service of the platform, whichever this process runs."""
    from infra.services import SERVICES, contract

    return Routes(contract(name) for name in SERVICES)


def service_for(path: str) -> str | None:
    return platform_routes().service_for(path)


def gateway_for(platform: Any) -> Gateway:
    from shared.openapi import document

    def documents() -> list[dict[str, Any]]:
        return [document(name, list(svc.operations))
                for name, svc in platform.services.items()]

    return Gateway(platform.apps, platform_routes(), documents,
                   platform.settings.max_body_bytes, platform, platform.console)
