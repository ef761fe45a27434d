"""The one place where settings become collaborators: tables, blobs, broker, relay, the
four services and their workers."""

from __future__ import annotations

import importlib
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import dramatiq
import falcon

from shared.blobs import Blobs, FileBlobs
from shared.broker import build_broker, declare_consumer, is_durable
from shared.clock import Clock, SystemClock
from shared.consumer import CrashGuard
from shared.http import ServiceContext
from shared.identity import verifier_from
from shared.outbox import DeliveryAcks, Relay
from shared.service import ServiceDef
from shared.settings import Settings
from shared.tables import Table
from shared.topology import SERVICES, queue_of

if TYPE_CHECKING:  # imported where used: a Lambda on DynamoDB never loads them
    from shared.tables.postgres import PostgresDatabase
    from shared.tables.sqlite import SQLiteDatabase


def load_service(name: str) -> ServiceDef:
    return importlib.import_module(f"services.{name}.app").SERVICE


def _tables(settings: Settings
            ) -> tuple[dict[str, Table], SQLiteDatabase | PostgresDatabase | None]:
    """The services' tables, and the database holding them (None on DynamoDB)."""
    if settings.table_backend == "dynamodb":
        from shared.tables.dynamodb import dynamodb_tables

        return dynamodb_tables(settings, SERVICES), None
    if settings.table_backend == "postgres":
        return _postgres_tables(settings)
    from shared.tables.sqlite import SQLiteDatabase

    db = SQLiteDatabase(settings.path("atende.db"))
    return {name: db.table(name) for name in SERVICES}, db


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
        db.ensure_schema(SERVICES, migrate=settings.database_migrate)
    except BaseException:
        db.close()
        raise
    return {name: db.table(name) for name in SERVICES}, db


def _blobs(settings: Settings, service: str) -> Blobs:
    if settings.blob_backend == "s3":
        from shared.blobs_s3 import S3Blobs

        return S3Blobs(settings, prefix=service)
    return FileBlobs(settings.data_dir / "blobs" / service)


@dataclass
class Platform:
    settings: Settings
    broker: dramatiq.Broker
    relay: Relay
    clock: Clock
    services: dict[str, ServiceDef]
    contexts: dict[str, ServiceContext]
    apps: dict[str, falcon.App] = field(default_factory=dict)
    actors: dict[str, Any] = field(default_factory=dict)
    database: SQLiteDatabase | PostgresDatabase | None = None  # None on DynamoDB

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
) -> Platform:
    clock = clock or SystemClock()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    broker = broker or build_broker(settings)
    durable = is_durable(settings.broker_url)
    relay = Relay(broker, clock, durable=durable,
                  redeliver_after=settings.outbox_redeliver_seconds)
    if not durable:
        broker.add_middleware(DeliveryAcks(relay))
    dramatiq.set_broker(broker)  # for code that enqueues through actor.send
    tables, database = _tables(settings)
    if not settings.broker_url.startswith("sqs://"):  # SQS counts receives itself
        broker.add_middleware(CrashGuard({queue_of(n): tables[n] for n in services}))
    verifier = verifier_from(settings)
    platform = Platform(settings, broker, relay, clock, {}, {}, database=database)
    for name in services:
        svc = load_service(name)
        ctx = ServiceContext(settings=settings, table=tables[name], blobs=_blobs(settings, name),
                             clock=clock, verifier=verifier, relay=relay)
        relay.watch(tables[name])
        if svc.setup is not None:
            svc.setup(ctx)
        platform.services[name] = svc
        platform.contexts[name] = ctx
        if svc.on_event is not None:
            platform.actors[name] = declare_consumer(broker, name, svc.on_event(ctx), settings)
        if svc.actors is not None:
            svc.actors(broker, ctx)
        if with_http:
            platform.apps[name] = svc.create_app(ctx)
    return platform
