"""A PostgreSQL database of a test's own: created on the local server, dropped after, never
one that anybody else uses."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
from psycopg.conninfo import conninfo_to_dict, make_conninfo

# The server's maintenance database, reached as its superuser (local trust on CI).
ADMIN_URL = os.environ.get("ATENDE_TEST_POSTGRES_URL",
                           "postgresql://postgres@127.0.0.1:5432/postgres")


def url_of(dbname: str) -> str:
    info = conninfo_to_dict(ADMIN_URL)
    info["dbname"] = dbname
    return "postgresql://{user}@{host}:{port}/{dbname}".format(
        user=info.get("user", "postgres"), host=info.get("host", "127.0.0.1"),
        port=info.get("port", 5432), dbname=dbname) if "password" not in info \
        else make_conninfo(**info)


@contextmanager
def scratch_database() -> Iterator[str]:
    """The URL of a new, empty database, dropped (with any connection left to it) after."""
    name = f"atende_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield url_of(name)
    finally:
        with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
