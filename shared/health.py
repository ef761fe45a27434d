"""What a process depends on, checked: the store, the broker and the outbox's lag.

``GET /health/ready`` answers from ``readiness``; ``atende serve`` and ``atende worker``
use ``broker_answers`` at start-up. Every check is bounded in time, so that a broker that
does not answer makes the probe say so instead of hanging it."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from shared.tables import Table

CHECK_TIMEOUT = 2.0


def broker_kind(url: str) -> str:
    return url.split("://", 1)[0] if "://" in url else url


def is_durable(url: str) -> bool:
    """Whether the broker keeps what it took across a crash (all but the in-process one)."""
    return broker_kind(url) != "memory"


def safe_url(url: str) -> str:
    """The broker URL without its credentials, for start-up lines and probes."""
    parts = urlsplit(url)
    if parts.password is None and parts.username is None:
        return url
    host = parts.hostname or ""
    if parts.port:
        host += f":{parts.port}"
    return parts._replace(netloc=f"***@{host}").geturl()


def _bounded(check: Callable[[], None], timeout: float) -> str | None:
    """Run ``check`` in a thread of its own; None if it passed, else why not."""
    outcome: list[str | None] = []

    def run() -> None:
        try:
            check()
            outcome.append(None)
        except Exception as exc:  # any failure is the answer we are after
            outcome.append(f"{type(exc).__name__}: {str(exc)[:200]}")

    t = threading.Thread(target=run, name="health-check", daemon=True)
    t.start()
    t.join(timeout)
    if not outcome:
        return f"no answer within {timeout:g} s"
    return outcome[0]


def _ping(broker: Any, url: str) -> None:
    kind = broker_kind(url)
    if kind in ("redis", "rediss"):
        broker.client.ping()
    elif kind in ("amqp", "amqps"):
        import pika

        params = pika.URLParameters(url)
        params.socket_timeout = params.blocked_connection_timeout = CHECK_TIMEOUT
        params.connection_attempts, params.retry_delay = 1, 0
        pika.BlockingConnection(params).close()
    elif kind == "sqs" and getattr(broker, "sqs", None) is not None:
        broker.sqs.meta.client.list_queues(MaxResults=1)


def broker_answers(broker: Any, url: str, timeout: float = CHECK_TIMEOUT) -> str | None:
    """None if the broker answers (or is the in-process one), else why not."""
    if broker_kind(url) == "memory":
        return None
    return _bounded(lambda: _ping(broker, url), timeout)


def store_answers(tables: Iterable[Table], timeout: float = CHECK_TIMEOUT) -> str | None:
    def read() -> None:
        for table in tables:
            table.get("HEALTH", "PROBE")

    return _bounded(read, timeout)


def _age(created_at: str | None) -> float | None:
    if not created_at:
        return None
    then = datetime.fromisoformat(created_at)
    return max(0.0, (datetime.now(UTC) - then).total_seconds())


def outbox_state(relay: Any, max_lag: float) -> tuple[str | None, dict[str, Any]]:
    """(why the outbox is behind or None, its figures): behind when an entry has waited
    longer than ``max_lag`` seconds to go out (or, on the in-process broker, to be
    applied)."""
    lag = relay.lag()
    pending = sum(v["pending"] for v in lag.values())
    dead = sum(v["dead"] for v in lag.values())
    ages = [a for v in lag.values() if (a := _age(v["oldest"])) is not None]
    oldest = round(max(ages), 3) if ages else None
    figures = {"pending": pending, "dead": dead, "oldest_pending_seconds": oldest}
    if oldest is not None and oldest > max_lag:
        return f"an entry has waited {oldest:.0f} s (limit {max_lag:g} s)", figures
    return None, figures


def readiness(platform: Any) -> tuple[bool, dict[str, Any]]:
    """Whether the process can do its work, and each part's state."""
    settings = platform.settings
    checks: dict[str, Any] = {}
    tables = [ctx.table for ctx in platform.contexts.values()]
    problem = store_answers(tables)
    checks["store"] = {"status": "fail" if problem else "ok",
                       "backend": settings.table_backend, **({"error": problem} if problem
                                                            else {})}
    problem = broker_answers(platform.broker, settings.broker_url)
    checks["broker"] = {"status": "fail" if problem else "ok",
                        "kind": broker_kind(settings.broker_url),
                        **({"error": problem} if problem else {})}
    if checks["store"]["status"] == "ok":
        problem, figures = outbox_state(platform.relay, settings.ready_outbox_lag_seconds)
        checks["outbox"] = {"status": "fail" if problem else "ok", **figures,
                            **({"error": problem} if problem else {})}
    else:
        checks["outbox"] = {"status": "fail", "error": "the store does not answer"}
    ok = all(c["status"] == "ok" for c in checks.values())
    return ok, checks


class Throttled:
    """At most one line per ``period`` for a recurring failure (a broker that is down is
    retried many times a second by several threads), counting the ones left out."""

    def __init__(self, logger: logging.Logger, period: float) -> None:
        self.logger, self.period = logger, period
        self._last: dict[str, float] = {}
        self._skipped: dict[str, int] = {}
        self._lock = threading.Lock()

    def warning(self, key: str, msg: str, **fields: Any) -> bool:
        now = time.monotonic()
        with self._lock:
            last = self._last.get(key)
            if last is not None and now - last < self.period:
                self._skipped[key] = self._skipped.get(key, 0) + 1
                return False
            self._last[key] = now
            skipped = self._skipped.pop(key, 0)
        self.logger.warning(msg, extra={"fields": {**fields, "repeats_left_out": skipped}})
        return True
