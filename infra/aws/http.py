"""API Gateway HTTP API (payload 2.0) → a service's Falcon app, through apig-wsgi."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from infra.aws.collector import Handler, first_event_paused


def lazy_handler(build_wsgi: Callable[[], Any]) -> Handler:
    """A Lambda handler whose WSGI app is built on the first event, not at import (that
    event with the garbage collector paused: infra/aws/collector.py)."""
    lock = threading.Lock()
    wrapped: list[Handler] = []

    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        if not wrapped:
            with lock:
                if not wrapped:
                    from apig_wsgi import make_lambda_handler

                    # binary_support: files (PDFs, images) go out base64-encoded.
                    wrapped.append(make_lambda_handler(build_wsgi(), binary_support=True))
        return wrapped[0](event, context)

    cold = first_event_paused(handler)
    cold.reset = wrapped.clear  # type: ignore[attr-defined]
    return cold


def service_handler(service: str) -> Handler:
    def build_wsgi() -> Any:
        from infra.aws import runtime

        return runtime.platform((service,), http=True).apps[service]

    return lazy_handler(build_wsgi)
