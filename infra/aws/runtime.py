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
    import gc

    gc.unfreeze()  # what the first events built (infra/aws/collector.py) is garbage now
    with _lock:
        for built in _built.values():
            close = getattr(built, "close_broker", None)  # a platform's, the relay's
            if close is not None:
                close()
        _built.clear()
        _overrides.clear()


def settings() -> Settings:
    from shared.settings import Settings

    given: Settings | None = _overrides.get("settings") or _built.get("settings")
    # Read once: the environment of a container does not change.
    return given or _built.setdefault("settings", Settings())


def clock() -> Clock | None:
    """The clock tests configured; None: the system's."""
    found: Clock | None = _overrides.get("clock")
    return found


def _configure_logs() -> None:
    # JSON lines to stderr (CloudWatch); tests (overrides set) keep pytest's own handlers.
    if not _overrides:
        from shared import logs

        logs.configure(os.environ.get("ATENDE_LOG_LEVEL", "INFO"))


def _declare_event_queues(broker: Any) -> Any:
    # A function built for one service still publishes to every consumer's queue.
    from infra.services import SERVICES
    from shared.topology import queue_of

    for service in SERVICES:
        broker.declare_queue(queue_of(service))
    return broker


def platform(services: tuple[str, ...], *, http: bool, console: bool = False) -> Platform:
    """The platform of ``services``; ``console``: the console, whatever ``http`` says."""
    key = ("platform", services, http, console)
    with _lock:
        if key not in _built:
            from infra.bootstrap import build

            _configure_logs()
            # The broker when a first event sends or consumes: a read loads no Dramatiq.
            _built[key] = build(settings(), clock=_overrides.get("clock"), services=services,
                                with_http=http, with_console=http or console,
                                broker_on_use=_declare_event_queues)
        return _built[key]


def tables() -> dict[str, Any]:
    """Every service's DynamoDB table, by service name, on the process's one client."""
    with _lock:
        return _tables()


def _tables() -> dict[str, Any]:
    if "tables" not in _built:
        from infra.services import SERVICES
        from shared.tables.dynamodb import dynamodb_tables

        _configure_logs()
        _built["tables"] = dynamodb_tables(settings(), SERVICES)
    found: dict[str, Any] = _built["tables"]
    return found


def relay() -> tuple[Any, dict[str, Any]]:
    """The outbox relay alone (no service code): its broker and every service's table,
    by table name."""
    with _lock:
        if "relay" not in _built:
            from shared.clock import SystemClock
            from shared.outbox import Relay

            tables = _tables()
            # The broker when a record is still to be sent: most were, by their commit.
            relay = Relay(None, _overrides.get("clock") or SystemClock(), durable=True,
                          broker_on_use=_relays_broker)
            for table in tables.values():
                relay.watch(table)
            _built["relay"] = relay
        relay = _built["relay"]
        return relay, relay.tables


def _relays_broker() -> Any:
    from shared.broker import build_broker

    return _declare_event_queues(build_broker(settings()))


class RelayOnUse:
    """The relay, built when a commit first has entries to hand it: a scheduler tick with
    nothing due loads no broker."""

    def submit(self, table: Any, entries: list[Any]) -> None:
        relay()[0].submit(table, entries)


def periodic_jobs() -> list[Any]:
    """The services' periodic jobs (infra.services.PERIODIC), from their periodic modules
    alone: no service is built, no broker until a job commits an event."""
    with _lock:
        if "jobs" not in _built:
            from infra.services import PERIODIC, periodic, topology
            from shared.blobs import blobs_of
            from shared.clock import SystemClock
            from shared.context import ServiceContext
            from shared.identity import verifier_from

            s, tables = settings(), _tables()
            clock = _overrides.get("clock") or SystemClock()
            jobs: list[Any] = []
            for name in PERIODIC:
                # The service's collaborators as the bootstrap builds them, less its deps
                # (mail, rooms), which no periodic job uses.
                ctx: ServiceContext[Any] = ServiceContext(
                    settings=s, table=tables[name], blobs=blobs_of(s, name), clock=clock,
                    verifier=verifier_from(s), relay=RelayOnUse(), topology=topology(),
                    deps=None)
                jobs.extend(periodic(name)(ctx))
            _built["jobs"] = jobs
        found: list[Any] = _built["jobs"]
        return found
