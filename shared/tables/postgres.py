"""The table port on PostgreSQL (psycopg 3 and its pool): a SQL table per logical table, a
partial index per GSI, transactions at READ COMMITTED with every condition checked by the
statement that writes (so a concurrent commit re-checks it, and one writer wins).

Several processes on several machines share one database: this is the on-premises way past
one machine. The schema is made by ``postgres_schema``'s versioned migrations.
"""

from __future__ import annotations

import functools
import logging
import re
import select
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, TypeVar

import orjson
import psycopg
from psycopg import errors
from psycopg.conninfo import conninfo_to_dict
from psycopg_pool import ConnectionPool

from shared.tables import (
    INDEXES,
    Check,
    ConditionFailed,
    Delete,
    Item,
    JsonPage,
    Page,
    Put,
    StoreUnavailable,
    TableError,
    Write,
    attribute_name,
    encode_cursor,
    prefix_end,
)
from shared.tables import postgres_schema as schema
from shared.tables.postgres_sql import page_sql, range_args

log = logging.getLogger("atende.postgres")
T = TypeVar("T")
_INDEX_COLS = [f"{i}{k}" for i in INDEXES for k in ("pk", "sk")]
_COLS = ["pk", "sk", "version", "body", *_INDEX_COLS]
# A restart of PostgreSQL (or a fail-over) breaks every pooled connection: a statement that
# meets a broken one is run again on a fresh one for this long before its caller is told.
_RECONNECT_SECONDS = 10.0
# The transaction was rolled back by the server (a deadlock between two transactions that
# wrote the same rows in different orders): running it again is safe.
_RETRY_TRANSACTION = (errors.DeadlockDetected, errors.SerializationFailure)


# PostgreSQL's JSON functions refuse the escaped NUL (\u0000) anywhere in a document, and a
# citizen's text may carry one: stored, it is written as U+E0000 (an unassigned tag
# character, escaped), which every JSON function reads, and turned back on the way out.
# Only an escape counts, not a literal backslash-u typed in a text (an even run of
# backslashes before it); orjson writes every other character above U+001F as itself, so
# the escaped pair cannot come from anything else.
_NUL, _NUL_STORED = "\\u0000", "\\udb40\\udc00"
_ESCAPED = r"(?<!\\)((?:\\\\)*)"
_TO_STORED = re.compile(_ESCAPED + r"\\u0000")
_FROM_STORED = re.compile(_ESCAPED + r"\\udb40\\udc00")


def to_stored(text: str) -> str:
    return (_TO_STORED.sub(r"\1" + _NUL_STORED.replace("\\", "\\\\"), text)
            if _NUL in text else text)


def from_stored(text: str) -> str:
    return (_FROM_STORED.sub(r"\1" + _NUL.replace("\\", "\\\\"), text)
            if _NUL_STORED in text else text)


class DatabaseUnavailable(StoreUnavailable):
    pass


def describe(url: str) -> str:
    """Where a URL points, without its password: fit for a log line or an error."""
    try:
        info = conninfo_to_dict(url)
    except psycopg.ProgrammingError:
        return "an unreadable ATENDE_DATABASE_URL"
    return (f"postgresql://{info.get('host', 'localhost')}:{info.get('port', 5432)}/"
            f"{info.get('dbname', '')}")


class PostgresDatabase:
    """A pool of connections shared by the tables of a process."""

    def __init__(self, url: str, *, min_size: int = 1, max_size: int = 8,
                 connect_timeout: float = 10.0) -> None:
        self.where = describe(url)
        try:  # one direct try first: a clear error now, not a pool timeout later
            psycopg.connect(url, connect_timeout=max(1, int(connect_timeout))).close()
        except psycopg.Error as exc:
            text = str(exc).strip()
            reason = " ".join(text.splitlines()[-1].split()) if text else type(exc).__name__
            raise DatabaseUnavailable(
                f"PostgreSQL at {self.where} cannot be reached ({reason}): start it, or fix "
                "ATENDE_DATABASE_URL") from None
        self.pool = ConnectionPool(url, min_size=min_size, max_size=max_size,
                                   kwargs={"autocommit": True}, configure=_configure,
                                   timeout=connect_timeout, name="atende", open=True)

    def close(self) -> None:
        self.pool.close()

    def table(self, name: str) -> PostgresTable:
        return PostgresTable(self, schema.check_name(name))

    def migrate(self, tables: Iterable[str]) -> list[str]:
        names = list(tables)  # read again if the first try's connection broke
        return self.run(lambda conn: schema.migrate(conn, names))

    def ensure_schema(self, tables: Iterable[str], *, migrate: bool) -> list[str]:
        """Make sure the schema is current: migrate when allowed, else fail clearly."""
        names = list(tables)
        todo = self.run(lambda conn: schema.missing(conn, names))
        if not todo:
            return []
        if not migrate:
            raise schema.SchemaBehind(
                f"the database at {self.where} lacks {len(todo)} schema migration(s): run "
                "`atende ops create` as the database's owner")
        return self.migrate(names)

    def run(self, work: Callable[[psycopg.Connection[Any]], T]) -> T:
        """``work`` on a pooled connection, again on a fresh one while the server is out of
        reach. ``work`` must be safe to repeat once its connection broke: a read, or a
        transaction that had not asked to commit (see ``transact``)."""
        deadline = time.monotonic() + _RECONNECT_SECONDS
        pause = 0.05
        while True:
            try:
                with self.pool.connection() as conn:
                    return work(conn)
            except _RETRY_TRANSACTION:
                if time.monotonic() > deadline:
                    raise
            except psycopg.OperationalError as exc:
                if isinstance(exc, _CommitUnknown) or time.monotonic() > deadline:
                    raise
                log.warning("PostgreSQL out of reach, trying again",
                            extra={"fields": {"error": type(exc).__name__}})
            time.sleep(pause)
            pause = min(pause * 2, 1.0)


def _configure(conn: psycopg.Connection[Any]) -> None:
    """Every statement of this adapter is a walk of a key's range in an index, in the
    index's order, cut by LIMIT. The planner, guessing a filter's selectivity (it cannot
    know a JSON attribute's), would otherwise read a whole partition and sort it to save a
    few index probes: a page would cost as much as its partition's size."""
    conn.execute("SET enable_seqscan = off; SET enable_bitmapscan = off; "
                 "SET enable_sort = off")
    # Every statement prepared the first time it is run, not the fifth: psycopg checks a
    # preparation by its result then, and only then. A statement counted up to its
    # preparation in a transaction's pipeline that a failed condition cut short was
    # skipped by the server, yet taken for prepared, and failed from then on.
    conn.prepare_threshold = 0


class _CommitUnknown(psycopg.OperationalError):
    """The connection broke while the server was committing: the transaction may or may not
    have been applied, so it is not run again."""


class PostgresTable:
    def __init__(self, db: PostgresDatabase, name: str) -> None:
        self.db = db
        self.name = name
        q = f'"{name}"'
        cols, marks = ", ".join(_COLS), ", ".join(["%s", "%s", "%s", "%s::json"]
                                                  + ["%s"] * len(_INDEX_COLS))
        self._get = f"SELECT body::text FROM {q} WHERE pk = %s AND sk = %s"
        self._create = (f"INSERT INTO {q} ({cols}) VALUES ({marks}) "
                        "ON CONFLICT (pk, sk) DO NOTHING")
        # PostgreSQL leaves an index alone when the update keeps its columns' values (a
        # heap-only update): setting every key column costs nothing when they stay the same.
        sets = ", ".join(f"{c} = EXCLUDED.{c}" for c in _COLS[2:])
        self._upsert = (f"INSERT INTO {q} ({cols}) VALUES ({marks}) "
                        f"ON CONFLICT (pk, sk) DO UPDATE SET {sets}")
        assigns = ", ".join(["version = %s", "body = %s::json",
                             *(f"{c} = %s" for c in _INDEX_COLS)])
        update = f"UPDATE {q} SET {assigns} WHERE pk = %s AND sk = %s AND version = %s"
        self._delete = f"DELETE FROM {q} WHERE pk = %s AND sk = %s"
        delete = self._delete + " AND version = %s"
        # FOR SHARE: the checked row cannot change before this transaction commits.
        self._check = f"SELECT version FROM {q} WHERE pk = %s AND sk = %s FOR SHARE"
        # Conditioned statements: as they are (a write alone reads its condition from
        # the rows it touched), and strict (in a transaction of several, it raises).
        self._plain = {"update": update, "create": self._create, "delete": delete}
        self._strict = {kind: _strict(sql) for kind, sql in self._plain.items()}

    # --- reads -------------------------------------------------------------------------

    def get(self, pk: str, sk: str) -> Item | None:
        row = self.db.run(lambda conn: conn.execute(self._get, (pk, sk)).fetchone())
        return orjson.loads(from_stored(row[0])) if row else None

    def get_many(self, keys: Sequence[tuple[str, str]]) -> list[Item | None]:
        """One statement: each key's primary-key lookup, tagged with its place."""
        if not keys:
            return []
        sql = _get_many_sql(self.name, len(keys))
        args = [part for key in keys for part in key]
        rows = self.db.run(lambda conn: conn.execute(sql, args).fetchall())
        found: list[Item | None] = [None] * len(keys)
        for n, body in rows:
            found[n] = orjson.loads(from_stored(body))
        return found

    def scan(self, prefix: str, sk: str | None = None) -> Iterator[Item]:
        only = " AND sk = %s" if sk is not None else ""
        sql = (f'SELECT pk, sk, body::text FROM "{self.name}" '
               f"WHERE (pk, sk) > (%s, %s) AND pk < %s{only} ORDER BY pk, sk LIMIT 500")
        after = (prefix, "")
        while True:
            args = [*after, prefix_end(prefix), *([sk] if sk is not None else [])]

            def page(conn: psycopg.Connection[Any], args: list[str] = args
                     ) -> list[tuple[Any, ...]]:
                return conn.execute(sql, args).fetchall()

            rows = self.db.run(page)
            if not rows:
                return
            after = (rows[-1][0], rows[-1][1])
            yield from (orjson.loads(from_stored(body)) for _, _, body in rows)

    def _rows(self, select: str, pk: str, limit: int, query: dict[str, Any]
              ) -> tuple[list[tuple[Any, ...]], str | None]:
        """Up to ``limit`` rows of ``select`` and the cursor after them, if there is more."""
        args, shape = range_args(pk, **query)
        sql = page_sql(self.name, select, *shape)
        rows = self.db.run(lambda conn: conn.execute(sql, [*args, limit + 1]).fetchall())
        if len(rows) <= limit:
            return rows, None
        rows = rows[:limit]
        # A key missing from an index row is read as "", as the SQLite adapter does.
        return rows, encode_cursor([k or "" for k in rows[-1][1:]])

    def query(self, pk: str, *, limit: int = 100, along: Sequence[tuple[str, str]] = (),
              **query: Any) -> Page:
        found = self.get_many(along) if along else []
        rows, cursor = self._rows("body::text", pk, limit, query)
        return Page([orjson.loads(from_stored(r[0])) for r in rows], cursor, found)

    def query_json(self, pk: str, *, attribute: str, limit: int = 100,
                   along: Sequence[tuple[str, str]] = (), **query: Any) -> JsonPage:
        """Each body's attribute is cut out by PostgreSQL, as the JSON text it was written
        as: no object is made for an item."""
        attr = attribute_name(attribute)
        found = self.get_many(along) if along else []
        rows, cursor = self._rows(f"coalesce(body -> '{attr}', 'null'::json)::text", pk,
                                  limit, query)
        return JsonPage(from_stored("[" + ",".join(r[0] for r in rows) + "]").encode(), cursor,
                        found)

    # --- writes ------------------------------------------------------------------------

    def transact(self, writes: Sequence[Write], *, durable: bool = True) -> None:
        """One round trip whatever the number of writes. A single durable write is a
        statement by itself, its condition read from the rows it touched. Several go in
        one pipeline with no BEGIN: the statements up to the pipeline's sync are one
        implicit transaction, which the sync commits, or rolls back whole if a statement
        failed. So each conditioned statement there raises when its condition fails
        (``_strict``): the server then skips the rest, and the sync rolls back.

        ``durable=False`` commits without waiting for the WAL's flush to disk
        (``synchronous_commit`` off for this transaction alone, a local setting in the
        same pipeline): the commit is at once visible, and outlives this process's
        death; the server's WAL writer flushes it within three times
        ``wal_writer_delay``, and the next durable commit on the server flushes it with
        its own. Only a crash of the server in between loses it, whole, and every commit
        after it that had not waited either."""
        prepared = [_prepare(w) for w in writes]
        if prepared:
            self.db.run(lambda conn: self._commit(conn, prepared, durable))

    def _commit(self, conn: psycopg.Connection[Any],
                prepared: list[Write | tuple[Put, list[Any]]], durable: bool) -> None:
        _check_idle(conn)
        strict = len(prepared) > 1
        cursors = [conn.cursor() for _ in prepared]
        failure: psycopg.Error | None = None
        try:
            if durable and not strict:
                self._send(cursors[0], prepared[0])
            else:
                with conn.pipeline():  # leaving the block sends the sync, reads every result
                    try:
                        if not durable:
                            conn.execute(_NOT_DURABLE)
                        for cur, w in zip(cursors, prepared, strict=True):
                            self._send(cur, w, strict=strict)
                    except psycopg.Error as exc:  # an error read while queuing the rest
                        failure = exc
        except psycopg.Error as exc:
            failure = failure or exc  # after an error, the statements it skipped say so
        if failure is not None:
            if conn.broken or conn.pgconn.status == psycopg.pq.ConnStatus.BAD:
                # Broken while the server may have been committing: never run again.
                raise _CommitUnknown(str(failure)) from failure
            failed = _failed_condition(failure, cursors) if strict else None
            if failed is not None:
                raise ConditionFailed(failed) from None
            raise failure  # the server refused, so committed nothing: run() may retry
        if not strict and not _held(prepared[0], cursors[0]):
            raise ConditionFailed(0)

    def _send(self, cur: psycopg.Cursor[Any], w: Write | tuple[Put, list[Any]],
              strict: bool = False) -> None:
        """Run (in a pipeline, queue) ``w``'s statement on ``cur``. ``strict``: a
        statement whose condition fails raises (see ``_strict``)."""
        stmt = self._strict if strict else self._plain
        if isinstance(w, tuple):
            put, vals = w
            if put.expect_version is not None:
                cur.execute(stmt["update"], [*vals[2:], put.item["pk"], put.item["sk"],
                                             put.expect_version])
            elif put.must_not_exist:
                cur.execute(stmt["create"], vals)
            else:
                cur.execute(self._upsert, vals)
        elif isinstance(w, Delete):
            if w.expect_version is None:
                cur.execute(self._delete, (w.pk, w.sk))
            else:
                cur.execute(stmt["delete"], (w.pk, w.sk, w.expect_version))
        elif isinstance(w, Check):
            if strict:
                cur.execute(_check_sql(self.name, w.must_exist, w.must_not_exist,
                                       w.expect_version is not None),
                            (*([w.expect_version] if w.expect_version is not None
                                else []), w.pk, w.sk))
            else:
                cur.execute(self._check, (w.pk, w.sk))
        else:
            raise TableError(f"unknown write {w!r}")


def _held(w: Write | tuple[Put, list[Any]], cur: psycopg.Cursor[Any]) -> bool:
    """Whether ``w``'s condition held, by its statement's result."""
    if isinstance(w, tuple):
        put = w[0]
        return cur.rowcount > 0 or (put.expect_version is None and not put.must_not_exist)
    if isinstance(w, Delete):
        return w.expect_version is None or cur.rowcount > 0
    if isinstance(w, Check):
        row = cur.fetchone()
        exists, version = row is not None, (row[0] if row else None)
        return not ((w.must_not_exist and exists) or (w.must_exist and not exists)
                    or (w.expect_version is not None
                        and (not exists or version != w.expect_version)))
    return True


def _prepare(w: Write) -> Write | tuple[Put, list[Any]]:
    """A put's column values, made before the transaction starts (it holds locks)."""
    if not isinstance(w, Put):
        return w
    item = w.item
    return w, [item["pk"], item["sk"], item.get("version"), to_stored(orjson.dumps(item).decode()),
               *(item.get(c) for c in _INDEX_COLS)]


# A failed condition in a transaction of several writes is an error raised by the statement
# itself, so that the server skips the rest of the pipeline and its sync rolls back: a
# text cast to a number, which names what happened in the server's log. Built from
# count(*), not a constant, so that the planner cannot evaluate it ahead of the rows.
_FAILED = "atende: write condition failed"
# Local to the transaction: gone with it, whatever ends it.
_NOT_DURABLE = "SELECT set_config('synchronous_commit', 'off', true)"
_RAISE = f"('{_FAILED}, rows ' || count(*))::int"


def _strict(sql: str) -> str:
    """``sql`` (a conditioned write), raising unless it touched a row."""
    return f"WITH w AS ({sql} RETURNING 1) SELECT CASE WHEN count(*) = 0 THEN {_RAISE} END FROM w"


@functools.lru_cache(maxsize=64)
def _check_sql(table: str, must_exist: bool, must_not_exist: bool, version: bool) -> str:
    """A Check's row locked (FOR SHARE, as ``_check``), raising unless its conditions hold
    (parameters: the version if one is expected, pk, sk)."""
    holds = ["true"]
    if must_exist:
        holds.append("count(*) = 1")
    if must_not_exist:
        holds.append("count(*) = 0")
    if version:
        holds.append("coalesce(bool_or(version = %s), false)")
    return (f"SELECT CASE WHEN NOT ({' AND '.join(holds)}) THEN {_RAISE} END FROM "
            f'(SELECT version FROM "{table}" WHERE pk = %s AND sk = %s FOR SHARE) r')


@functools.lru_cache(maxsize=64)
def _get_many_sql(table: str, count: int) -> str:
    return " UNION ALL ".join(
        f'SELECT {n}, body::text FROM "{table}" WHERE pk = %s AND sk = %s'
        for n in range(count))


def _failed_condition(exc: psycopg.Error, sent: list[psycopg.Cursor[Any]]) -> int | None:
    """Which write's condition failed, if that is what ``exc`` says: the first statement
    without a result (those before it have theirs; the rest were skipped)."""
    if not (isinstance(exc, errors.InvalidTextRepresentation)
            and _FAILED in (exc.diag.message_primary or "")):
        return None
    return next((n for n, cur in enumerate(sent) if cur.pgresult is None), None)


def _check_idle(conn: psycopg.Connection[Any]) -> None:
    """Before a transaction is sent in its one round trip, whose outcome is unknown if the
    connection breaks under it: an idle connection with something to read is one the
    server has closed (a restart, a terminated backend: its last words, then the end),
    and is dropped now, while running the transaction on another is still safe."""
    poll = select.poll()
    poll.register(conn.fileno(), select.POLLIN)
    if poll.poll(0):
        conn.close()
        raise psycopg.OperationalError("the server closed an idle pooled connection")
