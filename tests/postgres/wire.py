"""The PostgreSQL protocol as a test sees it: how many round trips a connection makes, from
libpq's own trace of the messages it sends and receives."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from psycopg import pq

from shared.tables.postgres import PostgresDatabase


@dataclass
class Trips:
    count: int = -1  # known once the block is left


@contextmanager
def round_trips(db: PostgresDatabase) -> Iterator[Trips]:
    """The round trips made within the block on ``db``'s pool, which must hold one
    connection: one for each answer the server ends with ReadyForQuery (a pipeline's
    sync, a statement sent on its own, a simple query)."""
    trips = Trips()
    with tempfile.TemporaryFile("w+") as trace:
        with db.pool.connection() as conn:
            conn.pgconn.trace(trace.fileno())
            conn.pgconn.set_trace_flags(pq.Trace.SUPPRESS_TIMESTAMPS)
        try:
            yield trips
        finally:
            with db.pool.connection() as conn:
                conn.pgconn.untrace()  # flushes libpq's stream
            trace.seek(0)
            trips.count = sum("\tReadyForQuery\t" in line for line in trace)
