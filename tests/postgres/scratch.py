"""A PostgreSQL database of a test's own: created on the local server, dropped after, never
one that anybody else uses."""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
from psycopg.conninfo import make_conninfo

# The server's maintenance database, reached as its superuser (local trust on CI).
ADMIN_URL = os.environ.get("ATENDE_TEST_POSTGRES_URL",
                           "postgresql://postgres@127.0.0.1:5432/postgres")


def url_of(dbname: str) -> str:
    """The admin URL's server and user, another database (a libpq connection string)."""
    return make_conninfo(ADMIN_URL, dbname=dbname)


def _admin() -> psycopg.Connection[object]:
    """The maintenance connection; a server restarting (the cluster test restarts it) is
    waited for a little."""
    for attempt in range(30):
        try:
            return psycopg.connect(ADMIN_URL, autocommit=True, connect_timeout=5)
        except psycopg.OperationalError:
            if attempt == 29:
                raise
            time.sleep(0.5)
    raise AssertionError("unreachable")


@contextmanager
def scratch_database() -> Iterator[str]:
    """The URL of a new, empty database, dropped (with any connection left to it) after."""
    name = f"atende_test_{uuid.uuid4().hex[:12]}"
    with _admin() as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield url_of(name)
    finally:
        with _admin() as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
