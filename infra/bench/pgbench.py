"""The PostgreSQL rows: a database of the bench's own (created, migrated, dropped), the
panel's p50 with 1,000 and 100,000 requests in it, and command to effect with RabbitMQ."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from infra.bench import effect
from infra.bench.growth import _p50
from infra.bench.httpbench import _get
from infra.bench.procs import serve_platform
from infra.bench.seed import seed

Row = dict[str, Any]
ADMIN_URL = os.environ.get("ATENDE_BENCH_PG_URL",
                           "postgresql://postgres@127.0.0.1:5432/postgres")


@contextmanager
def database() -> Iterator[str]:
    """A new database on the server of ``ATENDE_BENCH_PG_URL``, migrated; dropped after
    (with whatever connection is left to it)."""
    import psycopg

    from infra.services import SERVICES
    from shared.tables.postgres import PostgresDatabase

    name = f"atende_bench_{uuid.uuid4().hex[:10]}"
    base, _, _ = ADMIN_URL.rpartition("/")
    with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    url = f"{base}/{name}"
    try:
        db = PostgresDatabase(url, max_size=1)
        try:
            db.migrate((*SERVICES, "console"))
        finally:
            db.close()
        yield url
    finally:
        with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _store(url: str) -> tuple[dict[str, Any], dict[str, str]]:
    settings = {"table_backend": "postgres", "database_url": url}
    return settings, {f"ATENDE_{k.upper()}": v for k, v in settings.items()}


def run(work: Path, *, small: int, large: int, seconds: float, posts: int) -> list[Row]:
    panel: dict[int, float] = {}
    for size in (small, large):
        with database() as url:
            settings, env = _store(url)
            seeded = seed(work / f"pg-growth-{size}", size, in_service=False, extra=settings)
            server, port = serve_platform(seeded.data_dir, work / "logs", f"pg-growth-{size}",
                                          extra=env)
            with server:
                panel[size] = _p50(port, [_get("/requests", seeded.tokens["attendant"])],
                                   seconds)
    with database() as url:
        latency = effect.run(work, "rabbitmq", posts=posts, database_url=url)
    return [
        {"suite": "growth", "name": f"panel p50, {small:,} requests (postgres)",
         "p50_ms": panel[small]},
        {"suite": "growth", "name": f"panel p50, {large:,} requests (postgres)",
         "p50_ms": panel[large], "ratio": panel[large] / panel[small]},
        latency,
    ]
