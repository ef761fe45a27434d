"""The HTTP server of ``atende serve`` and ``atende dev``: waitress, its limits taken from
the settings, and its own refusals (a body over the cap, a malformed request) written as
problem documents like every other answer."""

from __future__ import annotations

from typing import Any

from waitress.channel import HTTPChannel
from waitress.server import BaseWSGIServer, MultiSocketServer, create_server
from waitress.task import ErrorTask

from infra.gateway import WSGIApp, problem, too_large
from infra.process import OperatorError
from shared.settings import Settings

_CODES = {400: "bad_request", 413: "payload_too_large", 431: "bad_request",
          501: "not_implemented"}


def waitress_options(settings: Settings) -> dict[str, Any]:
    """The production WSGI server's settings, shared with the benchmark's bare baseline."""
    options: dict[str, Any] = {
        "threads": settings.http_threads, "ident": "atende",
        "clear_untrusted_proxy_headers": True,
        # Waitress refuses a larger Content-Length before reading the body, and cuts a
        # chunked body off there; it counts ">=", hence the byte more.
        "max_request_body_size": settings.max_body_bytes + 1,
        "connection_limit": settings.http_connection_limit,
        "channel_timeout": settings.http_channel_timeout,
    }
    if settings.trusted_proxy:  # a TLS proxy in front: its X-Forwarded-Proto is believed
        options |= {"trusted_proxy": settings.trusted_proxy,
                    "trusted_proxy_headers": {"x-forwarded-proto"}}
    return options


class _ProblemTask(ErrorTask):
    def execute(self) -> None:
        error = self.request.error
        status = int(error.code)
        if status == 413:
            body = too_large(self.channel.server.adj.max_request_body_size - 1)
        else:
            body = problem(status, _CODES.get(status, "bad_request"), error.reason,
                           str(error.body))
        self.status = f"{status} {error.reason}"
        self.response_headers.append(("Content-Type", "application/problem+json"))
        self.set_close_on_finish()
        self.content_length = len(body)
        self.write(body)


class _ProblemChannel(HTTPChannel):
    error_task_class = _ProblemTask


def build_server(app: WSGIApp, settings: Settings, host: str,
                 port: int) -> BaseWSGIServer | MultiSocketServer:
    if settings.http_threads <= settings.judge_concurrency:
        raise OperatorError(
            f"ATENDE_HTTP_THREADS ({settings.http_threads}) must exceed "
            f"ATENDE_JUDGE_CONCURRENCY ({settings.judge_concurrency}): uploads being judged "
            "would hold every thread and stall every other request; raise the first or "
            "lower the second")
    server = create_server(app, host=host, port=port, **waitress_options(settings))
    server.channel_class = _ProblemChannel
    return server
