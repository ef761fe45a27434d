"""The one place where settings become collaborators: tables, blobs, broker, relay, the
four services and their workers."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from infra.services import SERVICES, contract, load_service, topology
from shared import judge, metrics
from shared.blobs import blobs_of
from shared.clock import Clock, SystemClock
from shared.consumer import EventConsumer
from shared.context import ServiceContext
from shared.datadir import private_dir
from shared.health import is_durable
from shared.identity import verifier_from
from shared.logs import install_scrubber
from shared.outbox import Relay
from shared.service import ServiceDef
from shared.settings import Settings
from shared.tables import Table
from shared.topology import own_queues_of

if TYPE_CHECKING:  # imported where used: a worker never loads falcon, a Lambda neither DB
    # nor (until it sends or consumes) Dramatiq
    import dramatiq
    import falcon

    from shared.tables.postgres import PostgresDatabase
    from shared.tables.sqlite import SQLiteDatabase


def _tables(settings: Settings, services: tuple[str, ...] = SERVICES
            ) -> tuple[dict[str, Table], SQLiteDatabase | PostgresDatabase | None]:
    """The services' tables, and the database holding them (None on DynamoDB); those of
    ``services``, the ones this process runs, with the attributes their contracts serve as
    JSON pages (another service's contract is not imported)."""
    if settings.table_backend == "dynamodb":
        from shared.tables.dynamodb import dynamodb_tables

        return dict(dynamodb_tables(settings, SERVICES)), None
    if settings.table_backend == "postgres":
        return _postgres_tables(settings)
    from shared.tables.sqlite import SQLiteDatabase

    db = SQLiteDatabase(settings.path("atende.db"))
    return {name: db.table(name, json_attributes=contract(name).json_pages
                           if name in services else ())
            for name in SERVICES}, db


def _postgres_tables(settings: Settings) -> tuple[dict[str, Table], PostgresDatabase]:
    from shared.tables import StoreUnavailable

    try:
        from shared.tables.postgres import PostgresDatabase
    except ImportError:
        raise StoreUnavailable("ATENDE_TABLE_BACKEND is postgres but psycopg is not "
                               "installed: pip install 'atende[postgres]'") from None
    if not settings.database_url:
        raise StoreUnavailable("ATENDE_TABLE_BACKEND is postgres but ATENDE_DATABASE_URL "
                               "is not set: set it to the database's postgresql:// URL")
    db = PostgresDatabase(settings.database_url, min_size=settings.database_pool_min,
                          max_size=settings.database_pool_max)
    try:
        db.ensure_schema((*SERVICES, "console"), migrate=settings.database_migrate)
    except BaseException:
        db.close()
        raise
    return {name: db.table(name) for name in SERVICES}, db


def _console_table(platform: Platform) -> Table:
    """The console's own table: its login sessions."""
    if platform.database is not None:
        return platform.database.table("console")
    from shared.tables.dynamodb import DynamoTable, table_name

    # The services' tables' client: another would load and parse its model again.
    services: Any = next(iter(platform.tables.values()))
    return DynamoTable(services.client, table_name(platform.settings, "console"))


class LazyApp:
    """A WSGI app built on its first request: the console reads its templates and assets
    then, so a platform that never serves it (workers, most tests) never pays for them."""

    def __init__(self, factory: Any) -> None:
        self._factory, self._app, self._lock = factory, None, threading.Lock()

    @property
    def app(self) -> Any:
        app = self._app
        if app is not None:  # built: no lock for every request after the first
            return app
        with self._lock:
            if self._app is None:
                self._app = self._factory()
            return self._app

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        return self.app(environ, start_response)


class _Unless(logging.Filter):
    """Drops the log records whose message holds ``text``."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text

    def filter(self, record: logging.LogRecord) -> bool:
        return self.text not in record.getMessage()


@dataclass
class Platform:
    settings: Settings
    relay: Relay
    clock: Clock
    services: dict[str, ServiceDef]
    contexts: dict[str, ServiceContext]
    apps: dict[str, falcon.App[Any, Any]] = field(default_factory=dict)  # the services'
    console: LazyApp | None = None  # the web console, beside the services' apps
    actors: dict[str, Any] = field(default_factory=dict)
    consumers: dict[str, EventConsumer] = field(default_factory=dict)
    database: SQLiteDatabase | PostgresDatabase | None = None  # None on DynamoDB
    tables: dict[str, Table] = field(default_factory=dict)  # every service's, built or not

    @property
    def broker(self) -> dramatiq.Broker:
        """The relay's broker, with the services' actors declared (built now if it was
        left for its first use: see ``build``)."""
        return self.relay.broker

    def start_checkpoints(self) -> threading.Event | None:
        """SQLite's checkpoints from a thread of their own (see SQLiteDatabase); None where
        the store needs none. Setting the event stops them."""
        from shared.tables.sqlite import SQLiteDatabase

        if isinstance(self.database, SQLiteDatabase):
            return self.database.start_checkpoints()
        return None

    def close(self) -> None:
        """Let go of the store's connections (PostgreSQL's pool), once nothing uses them."""
        close = getattr(self.database, "close", None)  # not imported: no psycopg on Lambda
        if close is not None:
            close()

    def close_broker(self) -> None:
        self.relay.close_broker()

    def start_workers(self) -> list[dramatiq.Worker]:
        """Dramatiq workers on this platform's queues, started: ``worker_threads`` for the
        event queues (and the jobs that share them), and ``io_threads`` of their own for
        the jobs that have a queue of their own, so that a job waiting on a slow server
        never holds a thread an event delivery needs."""
        import dramatiq

        from shared.batch_worker import BatchingWorker

        io = {q for name in self.services for q in own_queues_of(self.services[name].contract)}
        events = set(self.broker.get_declared_queues()) - io
        pools = [(events, self.settings.worker_threads)]
        if io and self.settings.io_threads:  # 0: left to the workers that have some
            pools.append((io, self.settings.io_threads))
        # The event queues' consumers apply batches themselves where the broker allows it.
        kinds = (BatchingWorker, dramatiq.Worker)[:len(pools)]
        workers = [kind(self.broker, queues=queues, worker_timeout=100, worker_threads=threads)
                   for kind, (queues, threads) in zip(kinds, pools, strict=True)]
        # Each worker adds a middleware of its own that starts its consumers, of its own
        # queues alone: Dramatiq's warning about a second one of that type is no news.
        quiet = _Unless("of the same type twice")
        self.broker.logger.addFilter(quiet)
        try:
            for worker in workers:
                worker.start()
        finally:
            self.broker.logger.removeFilter(quiet)
        return workers

    def periodic_jobs(self) -> list[Any]:
        return [job for name, svc in self.services.items() for job in
                svc.periodic(self.contexts[name])]


def build(
    settings: Settings,
    *,
    clock: Clock | None = None,
    broker: dramatiq.Broker | None = None,
    services: tuple[str, ...] = SERVICES,
    with_http: bool = True,
    with_console: bool | None = None,
    demo: dict[str, dict[str, Any]] | None = None,
    broker_on_use: Callable[[dramatiq.Broker], None] | None = None,
) -> Platform:
    """The platform; with ``with_http``, its HTTP apps; with ``with_console`` (by default,
    with the apps), the console, when the requests service is here (``demo``: the people
    its development login offers).

    ``broker_on_use``: the broker (``broker``, or the settings') is built, its middleware
    added and the services' actors declared when it is first used (a send, a worker), and
    then handed to this function too; else now. A Lambda function whose first event sends
    nothing loads no Dramatiq."""
    clock = clock or SystemClock()
    install_scrubber()  # every process that builds the platform: no message in a log line
    private_dir(settings.data_dir)
    metrics.configure(settings.metrics)
    tables, database = _tables(settings, services)
    relay = Relay(None, clock, durable=is_durable(settings.broker_url),
                  redeliver_after=settings.outbox_redeliver_seconds,
                  repeat_seconds=settings.log_repeat_seconds,
                  broker_on_use=lambda: _wired(platform, broker, broker_on_use))
    verifier = verifier_from(settings)
    judge.configure(settings)  # uploads are judged within this platform's budget
    platform = Platform(settings, relay, clock, {}, {}, database=database, tables=tables)
    for name in services:
        svc = load_service(name)
        ctx = ServiceContext(settings=settings, table=tables[name], blobs=blobs_of(settings, name),
                             clock=clock, verifier=verifier, relay=relay, topology=topology(),
                             deps=svc.deps(settings) if svc.deps else None)
        relay.watch(tables[name])
        platform.services[name] = svc
        platform.contexts[name] = ctx
        consumer = svc.consumer(ctx)
        if consumer is not None:
            platform.consumers[name] = consumer
        if with_http:
            platform.apps[name] = svc.create_app(ctx)
    if broker_on_use is None:
        relay.broker  # noqa: B018 (built now)
    if (with_http if with_console is None else with_console) and "requests" in services:
        platform.console = LazyApp(lambda: _console(platform, demo))
    return platform


def _wired(platform: Platform, broker: dramatiq.Broker | None,
           then: Callable[[dramatiq.Broker], None] | None) -> dramatiq.Broker:
    """The platform's broker with its middleware and the services' actors."""
    from shared.acks import DeliveryAcks
    from shared.broker import build_broker, declare_consumer
    from shared.topology import queues_of

    settings = platform.settings
    broker = broker or build_broker(settings)
    if settings.metrics:
        from shared.message_metrics import MessageMetrics

        if not any(isinstance(m, MessageMetrics) for m in broker.middleware):
            broker.add_middleware(MessageMetrics())
    if not platform.relay.durable:
        broker.add_middleware(DeliveryAcks(platform.relay))
    if not settings.broker_url.startswith("sqs://"):  # SQS counts receives itself
        from shared.crash_guard import CrashGuard

        broker.add_middleware(CrashGuard({queue: platform.tables[n] for n in platform.services
                                          for queue in queues_of(contract(n))}))
    for name, svc in platform.services.items():
        consumer = platform.consumers.get(name)
        if consumer is not None:
            platform.actors[name] = declare_consumer(broker, name, consumer, settings)
        if svc.actors is not None:
            svc.actors(broker, platform.contexts[name])
    if then is not None:
        then(broker)
    return broker


def _console(platform: Platform, demo: dict[str, dict[str, Any]] | None) -> Any:
    from console.app import create_console

    table = _console_table(platform)
    return create_console(platform.settings, platform.clock, table, platform.contexts,
                          demo=demo)
