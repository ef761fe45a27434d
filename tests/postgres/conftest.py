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
def pg_harness(make_harness: Callable[..., Any], pg_url: str) -> Iterator[Any]:
    h = make_harness(table_backend="postgres", database_url=pg_url, database_pool_max=6)
    yield h
    # Before the database is dropped: nothing may still be using the pool.
    h.worker.stop()
    h.platform.relay.stop_dispatcher()
    h.platform.broker.close()
    h.platform.close()
