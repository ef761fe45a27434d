"""Call a WSGI app from many threads at once.

falcon's TestClient keeps no per-request state of its own, but nothing promises that; a
WSGI call built from a fresh environ per request is plainly thread-safe, so races go
through this instead.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from falcon import testing


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


def call(app: Any, method: str, path: str, headers: dict[str, str] | None = None,
         json_body: Any = None) -> Answer:
    hdrs = dict(headers or {})
    body = b""
    if json_body is not None:
        body = json.dumps(json_body).encode()
        hdrs["Content-Type"] = "application/json"
    path, _, query = path.partition("?")
    environ = testing.create_environ(path=path, query_string=query, method=method,
                                     headers=hdrs, body=body)
    seen: dict[str, Any] = {}

    def start_response(status: str, headers: list[tuple[str, str]], *_: Any) -> None:
        seen["status"] = int(status.split(" ", 1)[0])
        seen["headers"] = {k.lower(): v for k, v in headers}

    chunks = app(environ, start_response)
    try:
        data = b"".join(chunks)
    finally:
        close = getattr(chunks, "close", None)
        if close is not None:
            close()
    return Answer(seen["status"], seen["headers"], data)


class Racer:
    """Runs a few calls at the same instant (a barrier releases them together)."""

    def __init__(self, pool: ThreadPoolExecutor) -> None:
        self.pool = pool

    def race(self, *calls: Callable[[], Answer]) -> list[Answer]:
        barrier = threading.Barrier(len(calls))

        def run(fn: Callable[[], Answer]) -> Answer:
            barrier.wait(timeout=10)
            return fn()

        futures = [self.pool.submit(run, fn) for fn in calls]
        return [f.result(timeout=30) for f in futures]


@contextmanager
def racer(width: int = 2) -> Iterator[Racer]:
    with ThreadPoolExecutor(max_workers=width) as pool:
        yield Racer(pool)


def statuses(answers: Sequence[Answer]) -> list[int]:
    return sorted(a.status for a in answers)
