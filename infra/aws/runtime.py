"""What a Lambda container keeps between invocations: the platform, built once on first
use from the environment (Settings), with the parts a function needs and no more."""

from __future__ import annotations

import os
import threading
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from infra.bootstrap import Platform
    from shared.clock import Clock
    from shared.settings import Settings

_lock = threading.Lock()
_built: dict[tuple[Any, ...] | str, Any] = {}
_overrides: dict[str, Any] = {}


def configure(*, settings: Settings | None = None, clock: Clock | None = None) -> None:
    """For tests: use these instead of the environment and the system clock. Forgets
    whatever was built before."""
    reset()
    _overrides.update({k: v for k, v in {"settings": settings, "clock": clock}.items() if v})


def reset() -> None:
    with _lock:
        for built in _built.values():
            broker = getattr(built, "broker", None)
            if broker is not None:
                broker.close()
        _built.clear()
        _overrides.clear()


def settings() -> Settings:
    from shared.settings import Settings

    return _overrides.get("settings") or Settings()


def _configure_logs() -> None:
    # JSON lines to stderr (CloudWatch); tests (overrides set) keep pytest's own handlers.
    if not _overrides:
        from shared import logs

        logs.configure(os.environ.get("ATENDE_LOG_LEVEL", "INFO"))


def _declare_event_queues(broker: Any) -> None:
    # A function built for one service still publishes to every consumer's queue.
    from infra.services import SERVICES
    from shared.topology import queue_of

    for service in SERVICES:
        broker.declare_queue(queue_of(service))


def platform(services: tuple[str, ...], *, http: bool, console: bool = False,
             sweep_all: bool = False) -> Platform:
    """The platform of ``services``; ``console``: the console, whatever ``http`` says;
    ``sweep_all``: its relay also sweeps every other service's outbox (the scheduler's)."""
    key = ("platform", services, http, console, sweep_all)
    with _lock:
        if key not in _built:
            from infra.bootstrap import build

            _configure_logs()
            built = build(settings(), clock=_overrides.get("clock"), services=services,
                          with_http=http, with_console=http or console)
            _declare_event_queues(built.broker)
            if sweep_all:
                for table in built.tables.values():
                    built.relay.watch(table)
            _built[key] = built
        return _built[key]


def scheduler() -> Platform:
    """The services that declare periodic jobs, alone (the others' code is not loaded), and
    a relay sweeping every service's outbox."""
    from infra.services import PERIODIC

    return platform(PERIODIC, http=False, sweep_all=True)


def relay() -> tuple[Any, dict[str, Any]]:
    """The outbox relay alone (no service code): its broker and every service's table,
    by table name."""
    with _lock:
        if "relay" not in _built:
            from infra.services import SERVICES
            from shared.broker import build_broker
            from shared.clock import SystemClock
            from shared.outbox import Relay
            from shared.tables.dynamodb import dynamodb_tables

            _configure_logs()
            s = settings()
            broker = build_broker(s)
            _declare_event_queues(broker)
            relay = Relay(broker, _overrides.get("clock") or SystemClock(), durable=True)
            tables = dynamodb_tables(s, SERVICES)
            for table in tables.values():
                relay.watch(table)
            _built["relay"] = relay
        relay = _built["relay"]
        return relay, relay.tables
