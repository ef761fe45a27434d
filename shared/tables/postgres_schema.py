"""The PostgreSQL schema: versioned migrations, each applied once per table and recorded in
``atende_schema``, all of them in one transaction under an advisory lock, so that processes
starting together neither race nor see half a schema. Migrations only add (tables, columns,
indexes): none drops or rewrites what is stored.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from shared.tables import INDEXES, StoreUnavailable, TableError

SCHEMA_TABLE = "atende_schema"
# pg_advisory_xact_lock's key: any constant the platform alone uses ("atende" in ASCII).
_LOCK = 0x617465_6E6465


def _items_table(t: str) -> list[str]:
    keys = ", ".join(f'{i}pk text COLLATE "C", {i}sk text COLLATE "C"' for i in INDEXES)
    return [
        f'CREATE TABLE IF NOT EXISTS "{t}" (pk text COLLATE "C" NOT NULL, '
        f'sk text COLLATE "C" NOT NULL, version bigint, body json NOT NULL, {keys}, '
        f"PRIMARY KEY (pk, sk))",
        # Sparse, as DynamoDB's GSIs: an item is in an index only when it has its keys.
        *(f'CREATE INDEX IF NOT EXISTS "{t}_{i}" ON "{t}" ({i}pk, {i}sk, pk, sk) '
          f"WHERE {i}pk IS NOT NULL" for i in INDEXES),
    ]


# (version, what it does, its statements for a table). Append only; never edit one that
# has shipped.
MIGRATIONS: list[tuple[int, str, Callable[[str], list[str]]]] = [
    (1, "items: keys, version, JSON body, a sparse index per GSI", _items_table),
]
LATEST = MIGRATIONS[-1][0]


class SchemaBehind(StoreUnavailable):
    """The database lacks migrations this code needs, and may not apply them itself."""


def check_name(name: str) -> str:
    if not name.replace("_", "").isalnum() or not name[0].isalpha():
        raise TableError(f"bad table name {name!r}")
    return name


def _applied(conn: Any) -> set[tuple[str, int]]:
    exists = conn.execute("SELECT to_regclass(%s) IS NOT NULL", (SCHEMA_TABLE,)).fetchone()[0]
    if not exists:
        return set()
    return {(t, v) for t, v in conn.execute(f"SELECT tbl, version FROM {SCHEMA_TABLE}")}


def missing(conn: Any, tables: Iterable[str]) -> list[tuple[str, int]]:
    """The (table, version) pairs not yet applied."""
    done = _applied(conn)
    return [(t, v) for t in tables for v, _, _ in MIGRATIONS if (t, v) not in done]


def migrate(conn: Any, tables: Iterable[str]) -> list[str]:
    """Apply what is missing; one line per migration applied. ``conn`` is in autocommit
    mode; the migrations run in a transaction of their own."""
    names = [check_name(t) for t in tables]
    made: list[str] = []
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK,))
        conn.execute(f"CREATE TABLE IF NOT EXISTS {SCHEMA_TABLE} (tbl text NOT NULL, "
                     "version int NOT NULL, name text NOT NULL, "
                     "applied_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (tbl, version))")
        done = _applied(conn)
        for t in names:
            for version, name, statements in MIGRATIONS:
                if (t, version) in done:
                    continue
                for sql in statements(t):
                    conn.execute(sql)
                conn.execute(f"INSERT INTO {SCHEMA_TABLE} (tbl, version, name) "
                             "VALUES (%s, %s, %s)", (t, version, name))
                made.append(f"table {t} migration {version} ({name})")
    return made
