"""A whole platform on PostgreSQL, in process: a database of the test's own, the in-process
broker and worker threads, as the ``harness`` fixture has on SQLite."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.postgres.scratch import scratch_database


@pytest.fixture
def pg_url() -> Iterator[str]:
    with scratch_database() as url:
        yield url


@pytest.fixture
def s3_url(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """An S3 API server (moto's) on a loopback port, for blobs shared by every machine."""
    from moto.server import ThreadedMotoServer

    from tests.faults.cluster import free_port

    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(key, "atende-test")
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture
def pg_harness(make_harness: Callable[..., Any], pg_url: str) -> Iterator[Any]:
    h = make_harness(table_backend="postgres", database_url=pg_url, database_pool_max=6)
    yield h
    # Before the database is dropped: nothing may still be using the pool.
    h.worker.stop()
    h.platform.relay.stop_dispatcher()
    h.platform.broker.close()
    h.platform.close()
