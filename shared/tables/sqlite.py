"""The table port on SQLite: one WAL file, one SQL table per logical table, an index per
GSI so that every list query is a bounded index range scan."""

from __future__ import annotations

import functools
import logging
import os
import sqlite3
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any

import orjson

from shared.datadir import ensure_private_file
from shared.tables import (
    INDEXES,
    Check,
    ConditionFailed,
    Delete,
    Item,
    JsonPage,
    Page,
    Put,
    TableError,
    Where,
    Write,
    attribute_name,
    attribute_page,
    encode_cursor,
    key_columns,
    key_range_args,
    key_range_sql,
    prefix_end,
)

try:
    import fcntl
except ImportError:  # not POSIX: the in-process lock alone, SQLite's busy handler between
    fcntl = None  # type: ignore[assignment]

log = logging.getLogger("atende.sqlite")
_OPS = {"=": "=", "!=": "!=", "<": "<", "<=": "<=", ">": ">", ">=": ">="}


class SQLiteDatabase:
    """One database file shared by the tables of a process; a connection per thread."""

    def __init__(self, path: Path | str) -> None:
        self.path = str(path)
        if self.path != ":memory:" and not self.path.startswith("file:"):
            # Made 0600 before SQLite opens it: SQLite gives the WAL and shared-memory
            # files the database file's mode, so they are owner-only too.
            for suffix in ("", "-wal", "-shm"):
                if not suffix or os.path.exists(self.path + suffix):
                    ensure_private_file(Path(self.path + suffix))
        self._local = threading.local()
        self._lock = threading.Lock()
        self._created: dict[str, tuple[str, ...]] = {}  # name -> the attributes it keeps apart
        self._writer = threading.Lock()
        self._writer_file: tuple[int, int] | None = None  # (pid, fd) of the lock file

    @contextmanager
    def writing(self) -> Iterator[None]:
        """One writer at a time, across the threads and processes sharing the file.

        SQLite lets a second writer find the database locked and retry in its busy
        handler, which sleeps from 1 up to 100 ms between tries: under a steady load of
        short writes that sleeping, not the writes, was most of a command's latency and
        capped a worker's throughput. Waiting on a lock wakes the next writer as soon as
        the last one is done."""
        with self._writer:
            fd = self._lock_fd()
            if fcntl is not None:
                fcntl.flock(fd, fcntl.LOCK_EX)
            try:
                yield
            finally:
                if fcntl is not None:
                    fcntl.flock(fd, fcntl.LOCK_UN)

    def _lock_fd(self) -> int:
        if self._writer_file is None or self._writer_file[0] != os.getpid():
            fd = os.open(self.path + ".writer", os.O_RDWR | os.O_CREAT, 0o600)
            self._writer_file = (os.getpid(), fd)
        return self._writer_file[1]

    def checkpoint(self) -> None:
        """Copy committed pages from the WAL into the database file, waiting on no reader
        or writer (PASSIVE): what it cannot copy now, the next one will."""
        self.connection().execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()

    def start_checkpoints(self, every: float = 0.5) -> threading.Event:
        """Checkpoints from a thread of their own, until the returned event is set.

        Otherwise the commit that takes the WAL past ``wal_autocheckpoint`` pages copies
        them itself, holding the write lock meanwhile, and every writer of every process
        waits behind it: those waits were most of the command-to-effect p99.
        Commits still checkpoint at that mark, but find the pages already copied."""
        stop = threading.Event()

        def run() -> None:
            while not stop.wait(every):
                try:
                    self.checkpoint()
                except sqlite3.Error:
                    log.warning("checkpoint failed", exc_info=True)

        threading.Thread(target=run, name="sqlite-checkpoint", daemon=True).start()
        return stop

    @contextmanager
    def reading(self) -> Iterator[None]:
        """This thread's reads from one snapshot of the file, for queries only (a write
        inside fails). Each statement outside a transaction opens and closes a read
        transaction of its own, most of a point read's cost: a page that reads ten items
        pays it once. Re-entrant: inside a transaction, nothing more."""
        conn = self.connection()
        if conn.in_transaction:
            yield
            return
        conn.execute("BEGIN")
        try:
            yield
        finally:
            conn.execute("COMMIT")

    def connection(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(
                self.path, isolation_level=None, timeout=30, check_same_thread=False
            )
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA busy_timeout=30000")
            # Checkpoint every 10,000 WAL pages (40 MB) instead of 1,000: a checkpoint runs in
            # the commit that crosses the mark, and a rarer one copies each hot page (the
            # markers', an index's) once instead of ten times: a consumer's commit copies less.
            conn.execute("PRAGMA wal_autocheckpoint=10000")
            self._local.conn = conn
        return conn

    def table(self, name: str, *, json_attributes: Sequence[str] = ()) -> SQLiteTable:
        """The table ``name``, made if missing. ``json_attributes``: top-level attributes
        its items' JSON pages serve (``query_json``), each kept in a column of its own as
        JSON text, which SQLite joins into a page without parsing the item (on the panel,
        a third of its statement's cost went to parsing each row's body to cut its view
        out). A table made before gets the column added; its rows written before then read
        through the body until they are written again. Every attribute with a column is
        written, whoever declared it, so that no process leaves one stale."""
        wanted = tuple(attribute_name(a) for a in json_attributes)
        with self._lock:
            kept = self._created.get(name)
            if kept is None or not set(wanted) <= set(kept):
                kept = self._create(name, wanted)
                self._created[name] = kept
        return SQLiteTable(self, name)

    def kept(self, name: str) -> tuple[str, ...]:
        """The attributes of table ``name`` kept in columns of their own."""
        return self._created.get(name, ())

    def _create(self, name: str, json_attributes: tuple[str, ...]) -> tuple[str, ...]:
        """Make the table or add the columns it lacks; the attributes it keeps apart."""
        cols = ", ".join(f"{i}pk TEXT, {i}sk TEXT" for i in INDEXES)
        # Before the body: a column is read without reading those stored before it, and a
        # body long enough spills onto overflow pages.
        kept = "".join(f"{_json_column(a)} TEXT, " for a in json_attributes)
        conn = self.connection()
        conn.execute(
            f'CREATE TABLE IF NOT EXISTS "{name}" (pk TEXT NOT NULL, sk TEXT NOT NULL, '
            f"version INTEGER, {kept}body TEXT NOT NULL, {cols}, PRIMARY KEY (pk, sk)) "
            "WITHOUT ROWID"
        )
        for i in INDEXES:
            conn.execute(
                f'CREATE INDEX IF NOT EXISTS "{name}_{i}" ON "{name}" ({i}pk, {i}sk, pk, sk) '
                f"WHERE {i}pk IS NOT NULL"
            )
        present = self._json_attributes(conn, name)
        if set(json_attributes) <= set(present):
            return present
        with self.writing():  # another process may be adding the same column
            conn.execute("BEGIN IMMEDIATE")
            try:
                present = self._json_attributes(conn, name)
                for a in json_attributes:
                    if a not in present:
                        conn.execute(f'ALTER TABLE "{name}" ADD COLUMN {_json_column(a)} TEXT')
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
        return self._json_attributes(conn, name)

    @staticmethod
    def _json_attributes(conn: sqlite3.Connection, name: str) -> tuple[str, ...]:
        columns = [row[1] for row in conn.execute(f'PRAGMA table_info("{name}")')]
        return tuple(c.removeprefix(_JSON_PREFIX) for c in columns
                     if c.startswith(_JSON_PREFIX))


class SQLiteTable:
    def __init__(self, db: SQLiteDatabase, name: str) -> None:
        self.db = db
        self.name = name

    @property
    def json_attributes(self) -> tuple[str, ...]:
        """The attributes kept apart, as the database last found them: a table of this
        process opened before a column was added writes it too."""
        return self.db.kept(self.name)

    def reading(self) -> AbstractContextManager[None]:
        return self.db.reading()

    def get(self, pk: str, sk: str) -> Item | None:
        row = (
            self.db.connection()
            .execute(f'SELECT CAST(body AS BLOB) FROM "{self.name}" WHERE pk = ? AND sk = ?',
                     (pk, sk))
            .fetchone()
        )
        return orjson.loads(row[0]) if row else None

    def get_many(self, keys: Sequence[tuple[str, str]]) -> list[Item | None]:
        """One statement for up to ``_MAX_ROWS`` keys, one row back: each statement lets go
        of the GIL at every step, and under a threaded server each hand-over costs context
        switches (a JSON detail reads the roster entry and the request)."""
        if len(keys) < 2:
            return [self.get(pk, sk) for pk, sk in keys]
        found: list[Item | None] = []
        for start in range(0, len(keys), _MAX_ROWS):
            chunk = keys[start:start + _MAX_ROWS]
            row = self.db.connection().execute(
                _many_sql(self.name, len(chunk)), [v for key in chunk for v in key]).fetchone()
            found += _loaded(row)
        return found

    def scan(self, prefix: str, sk: str | None = None) -> Iterator[Item]:
        """In pages, each read finished before the caller writes: a write on this
        connection while a read of it is still open fails ("database is locked")."""
        only = " AND sk = ?" if sk is not None else ""
        sql = (f'SELECT pk, sk, CAST(body AS BLOB) FROM "{self.name}" '
               f"WHERE (pk, sk) > (?, ?) AND pk < ?{only} ORDER BY pk, sk LIMIT 500")
        after = (prefix, "")
        while True:
            rows = self.db.connection().execute(
                sql, (*after, prefix_end(prefix), *([sk] if sk is not None else []))
            ).fetchall()
            if not rows:
                return
            after = (rows[-1][0], rows[-1][1])
            yield from (orjson.loads(body) for _, _, body in rows)

    def query(
        self,
        pk: str,
        *,
        index: str | None = None,
        prefix: str | None = None,
        start: str | None = None,
        end: str | None = None,
        forward: bool = True,
        limit: int = 100,
        cursor: str | None = None,
        where: Sequence[Where] = (),
        along: Sequence[tuple[str, str]] = (),
    ) -> Page:
        """The ``along`` items come in the page's statement (``query_json`` says why), and
        so does one row past the page, which tells whether a next page exists."""
        args, shape = _range_args(pk, index, prefix, start, end, forward, cursor, where)
        params = [*_along_args(along), *args, limit + 1]
        conn = self.db.connection()
        *found, bodies, firsts = conn.execute(_page_sql(self.name, shape, len(along)),
                                              params).fetchone()
        items = _loaded(found)
        if bodies is None:
            return Page([], None, items)
        rows, keys = orjson.loads(bodies), firsts.split(_SEP)
        if len(keys) == len(rows) and _strictly_ordered(keys, forward):
            if len(rows) <= limit:
                return Page(rows, None, items)
            return Page(rows[:limit],
                        encode_cursor(_cursor_key(keys[limit - 1], index, forward)), items)
        # Unproven order (query_json says when): sorted again on every key, unique as
        # they end with pk and sk, so the bodies are never compared.
        bodies, order = conn.execute(_sorted_page_sql(self.name, shape), params[2 * len(along):]
                                     ).fetchone()
        ordered = sorted(zip(orjson.loads(order), orjson.loads(bodies), strict=True),
                         reverse=not forward)
        next_cursor = encode_cursor(ordered[limit - 1][0]) if len(ordered) > limit else None
        return Page([body for _, body in ordered[:limit]], next_cursor, items)

    def query_json(self, pk: str, *, attribute: str, limit: int = 100,
                   along: Sequence[tuple[str, str]] = (), **query: Any) -> JsonPage:
        """SQLite cuts the attribute's JSON out of each body and joins them: no object is
        made for an item, which matters most under the server, where cold caches make every
        object dearer (docs/performance.md). One row more than the page tells whether a
        next page exists; its value is cut off here. The ``along`` items come in the same
        statement: under the server each statement costs several of the GIL's hand-overs
        between threads, which cost more than the statement itself."""
        args, shape = _range_args(pk, **query)
        attribute = attribute_name(attribute)
        sql = _json_page_sql(self.name, attribute, attribute in self.json_attributes, shape,
                             len(along))
        *found, values, firsts = self.db.connection().execute(
            sql, [*_along_args(along), *args, limit + 1]).fetchone()
        items = _loaded(found)
        if values is None:
            return JsonPage(b"[]", None, items)
        forward = query.get("forward", True)
        keys = firsts.split(_SEP)
        if not _strictly_ordered(keys, forward) or len(keys) != values.count(_SEP_BYTES) + 1:
            # SQLite does not promise the order an aggregate meets its rows in; and a tie on
            # the first key (or a separator inside one) leaves the order unproven: the
            # general path sorts on every key.
            return attribute_page(self.query(pk, limit=limit, **query), attribute, items)
        if len(keys) <= limit:
            return JsonPage(b"[" + values.replace(_SEP_BYTES, b",") + b"]", None, items)
        values = values[:values.rindex(_SEP_BYTES)]
        return JsonPage(b"[" + values.replace(_SEP_BYTES, b",") + b"]",
                        encode_cursor(_cursor_key(keys[limit - 1], shape[0], forward)), items)

    def transact(self, writes: Sequence[Write], *, durable: bool = True) -> None:
        # ``durable`` changes nothing: in WAL mode at synchronous=NORMAL every commit
        # outlives the process at once (the WAL is synced at checkpoints).
        conn = self.db.connection()
        with self.db.writing():
            conn.execute("BEGIN IMMEDIATE")
            try:
                n = 0
                while n < len(writes):
                    run = _new_items(writes, n)
                    if len(run) > 1:
                        self._insert_all(conn, n, run)
                        n += len(run)
                    elif len(run := _plain_puts(writes, n)) > 1:
                        self._upsert_all(conn, n, run)
                        n += len(run)
                    else:
                        self._apply(conn, n, writes[n])
                        n += 1
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    def _insert_all(self, conn: sqlite3.Connection, first: int, puts: list[Put]) -> None:
        """New items in one statement: a command's item and its outbox entry, a
        consumer's effect and its marker, each a statement apiece before. A key that
        exists undoes the statement whole; one at a time then tells which it was."""
        kept = self.json_attributes
        shapes, params = _rows(puts, kept)
        try:
            conn.execute(_insert_sql(self.name, kept, "INSERT", shapes), params)
        except sqlite3.IntegrityError as exc:
            if exc.sqlite_errorname != "SQLITE_CONSTRAINT_PRIMARYKEY":
                raise
            for n, w in enumerate(puts, first):
                self._put(conn, n, w)
            raise  # not reached: one of them clashes

    def _upsert_all(self, conn: sqlite3.Connection, first: int, puts: list[Put]) -> None:
        """Unconditioned puts in one statement (the timeline entries of a batch of
        events). A row whose index keys change is left as it was by the statement
        (``_upsert_body``); then each is put in turn, those already written again."""
        kept = self.json_attributes
        shapes, params = _rows(puts, kept)
        if conn.execute(_upsert_sql(self.name, kept, shapes), params).rowcount != len(puts):
            for n, w in enumerate(puts, first):
                self._put(conn, n, w)

    def _apply(self, conn: sqlite3.Connection, n: int, w: Write) -> None:
        """One write. A new item's condition is its key clash and a delete's the rows it
        touched, with no read before them; a versioned put reads the stored index keys,
        which its update needs anyway (``_update``)."""
        if isinstance(w, Check):
            self._check(conn, n, w)
        elif isinstance(w, Put):
            self._put(conn, n, w)
        elif isinstance(w, Delete):
            sql = f'DELETE FROM "{self.name}" WHERE pk = ? AND sk = ?'
            args: list[Any] = [w.pk, w.sk]
            if w.expect_version is not None:
                sql += " AND version = ?"
                args.append(w.expect_version)
            if conn.execute(sql, args).rowcount == 0 and w.expect_version is not None:
                raise ConditionFailed(n)
        else:
            raise TableError(f"unknown write {w!r}")

    def _put(self, conn: sqlite3.Connection, n: int, w: Put) -> None:
        kept = self.json_attributes
        vals = _kept_row(w.item, kept)
        if w.expect_version is not None:
            self._update(conn, n, w.expect_version, kept, vals)
            return
        if not w.must_not_exist and self._upsert_body(conn, kept, vals):
            return
        verb = "INSERT" if w.must_not_exist else "INSERT OR REPLACE"
        try:
            conn.execute(_insert_sql(self.name, kept, verb, (_nulls(vals),)), _bound(vals))
        except sqlite3.IntegrityError as exc:
            if exc.sqlite_errorname == "SQLITE_CONSTRAINT_PRIMARYKEY":
                raise ConditionFailed(n) from exc
            raise

    def _upsert_body(self, conn: sqlite3.Connection, kept: tuple[str, ...], vals: list[Any]
                     ) -> bool:
        """An unconditioned put in one statement: a new row inserted, or a row whose index
        keys stay as they are rewritten in place, its body and version alone. INSERT OR
        REPLACE deletes the row and inserts it again, rewriting every index it is in (a
        panel row is in four); an UPDATE tried first cost a new row (a timeline entry) a
        second statement. False when the row's index keys change: the caller replaces
        it."""
        return conn.execute(_upsert_sql(self.name, kept, (_nulls(vals),)), _bound(vals)
                            ).rowcount == 1

    def _update(self, conn: sqlite3.Connection, n: int, expect_version: int,
                kept_attributes: tuple[str, ...], vals: list[Any]) -> None:
        """Rewrite a versioned item, setting only the index keys that changed: SQLite
        rewrites every index whose column an UPDATE sets, changed or not, which nearly
        doubled a consumer's commit (request, timeline entry, marker). Most writes change
        none of them: one UPDATE conditioned on the version and the keys as they are does
        it; only when it touches nothing are the stored keys read, to tell a stale version
        from keys that moved."""
        key_vals = vals[4:_JSON]
        cols = _columns(kept_attributes)
        if conn.execute(
                _update_sql(self.name, kept_attributes, _nulls(vals)),
                [vals[2], vals[3], *_bound(vals[_JSON:]), vals[0], vals[1], expect_version,
                 *_bound(key_vals)]
        ).rowcount:
            return
        kept = list(zip(cols[_JSON:], vals[_JSON:], strict=True))  # always rewritten
        row = conn.execute(
            f'SELECT {", ".join(_KEYS)} FROM "{self.name}" WHERE pk = ? AND sk = ? '
            "AND version = ?", (vals[0], vals[1], expect_version)).fetchone()
        if row is None:
            raise ConditionFailed(n)
        changed = kept + [(c, v) for c, v, old in zip(_KEYS, key_vals, row, strict=True)
                          if v != old]
        conn.execute(f'UPDATE "{self.name}" SET {_assigns(changed)} WHERE pk = ? AND sk = ?',
                     [vals[2], vals[3], *_bound([v for _, v in changed]), vals[0], vals[1]])

    def _check(self, conn: sqlite3.Connection, n: int, w: Check) -> None:
        row = conn.execute(
            f'SELECT version FROM "{self.name}" WHERE pk = ? AND sk = ?', (w.pk, w.sk)
        ).fetchone()
        exists, version = row is not None, (row[0] if row else None)
        if (
            (w.must_not_exist and exists)
            or (w.must_exist and not exists)
            or (w.expect_version is not None and (not exists or version != w.expect_version))
        ):
            raise ConditionFailed(n)


_KEYS = tuple(f"{i}{k}" for i in INDEXES for k in ("pk", "sk"))
_COLUMNS = ("pk", "sk", "version", "body", *_KEYS)
_JSON = len(_COLUMNS)  # where a table's columns of attributes kept apart begin
_JSON_PREFIX = "json_"


def _json_column(attribute: str) -> str:
    return _JSON_PREFIX + attribute


@functools.cache
def _columns(json_attributes: tuple[str, ...]) -> tuple[str, ...]:
    """A table's columns as its writes name them."""
    return (*_COLUMNS, *map(_json_column, json_attributes))


def _assigns(extra: Sequence[tuple[str, Any]]) -> str:
    """SET of an update's version and body (their values first) and of ``extra``, NULL
    written into the statement as ``_marks`` does."""
    return ", ".join(["version = ?", "body = ?",
                      *(f"{c} = NULL" if v is None else f"{c} = ?" for c, v in extra)])


# Rows one statement writes (new items) or reads (``get_many``) at most: SQLite allows
# 32,766 parameters in one.
_MAX_ROWS = 500


def _kept_row(item: Item, kept: tuple[str, ...]) -> list[Any]:
    """An item's values for ``_columns(kept)``: each attribute kept apart as its JSON
    text, NULL where the item has none (or null: read through the body, the same)."""
    vals: list[Any] = [item["pk"], item["sk"], item.get("version"), orjson.dumps(item).decode()]
    for i in INDEXES:
        vals += [item.get(f"{i}pk"), item.get(f"{i}sk")]
    for a in kept:
        value = item.get(a)
        vals.append(None if value is None else orjson.dumps(value).decode())
    return vals


def _nulls(vals: Sequence[Any]) -> tuple[bool, ...]:
    """Which of a row's values are NULL: with the table and its columns, all a write's
    statement depends on."""
    return tuple([v is None for v in vals])


def _marks(nulls: Sequence[bool]) -> str:
    """A row's placeholders, NULL written into the statement: the sqlite3 module adapts
    each None it binds through a failed attribute lookup (an exception raised and cleared),
    and an item leaves most of its eight index columns empty. The statements stay few (an
    item's kind decides which are empty), each prepared once in the connection's cache,
    and their text made once (the functions below)."""
    return f"({', '.join('NULL' if null else '?' for null in nulls)})"


# A write's statement by its shape, made once: joined again at every write, its text was
# a visible part of a consumer's effect (docs/performance.md). A batch's statement is long
# (a seed's, hundreds of rows), hence the smaller caches of the rows' statements.


@functools.lru_cache(maxsize=256)
def _insert_sql(table: str, kept: tuple[str, ...], verb: str,
                rows: tuple[tuple[bool, ...], ...]) -> str:
    return (f'{verb} INTO "{table}" ({", ".join(_columns(kept))}) VALUES '
            + ", ".join(map(_marks, rows)))


def _rows(puts: Sequence[Put], kept: tuple[str, ...]
          ) -> tuple[tuple[tuple[bool, ...], ...], list[Any]]:
    """Several items' rows for one statement: each row's NULLs (its shape) and the values
    bound, all rows' in turn."""
    rows = [_kept_row(w.item, kept) for w in puts]
    return tuple(map(_nulls, rows)), [v for row in rows for v in _bound(row)]


@functools.lru_cache(maxsize=256)
def _upsert_sql(table: str, kept: tuple[str, ...], rows: tuple[tuple[bool, ...], ...]) -> str:
    cols = _columns(kept)
    same = " AND ".join(f"{c} IS excluded.{c}" for c in _KEYS)
    sets = ", ".join(f"{c} = excluded.{c}" for c in ("version", "body", *cols[_JSON:]))
    return (f'INSERT INTO "{table}" ({", ".join(cols)}) VALUES '
            + ", ".join(map(_marks, rows))
            + f" ON CONFLICT (pk, sk) DO UPDATE SET {sets} WHERE {same}")


@functools.lru_cache(maxsize=1024)
def _update_sql(table: str, kept: tuple[str, ...], nulls: tuple[bool, ...]) -> str:
    """The update conditioned on the version and on the index keys as they are; parameters:
    version, body, the kept attributes' values, pk, sk, the version expected, the keys."""
    same = " AND ".join(f"{c} IS NULL" if null else f"{c} = ?"
                        for c, null in zip(_KEYS, nulls[4:_JSON], strict=True))
    assigns = _assigns(list(zip(_columns(kept)[_JSON:],
                                [None if null else "" for null in nulls[_JSON:]], strict=True)))
    return (f'UPDATE "{table}" SET {assigns} WHERE pk = ? AND sk = ? '
            f"AND version = ? AND {same}")


def _along_args(along: Sequence[tuple[str, str]]) -> list[str]:
    """The parameters of the items read along a page, first in its statement."""
    if len(along) > _MAX_ROWS:
        raise TableError(f"at most {_MAX_ROWS} items along a page")
    return [v for key in along for v in key]


def _loaded(bodies: Sequence[bytes | None]) -> list[Item | None]:
    return [None if body is None else orjson.loads(body) for body in bodies]


def _bound(vals: Sequence[Any]) -> list[Any]:
    """The values ``_marks`` leaves a placeholder for."""
    return [v for v in vals if v is not None]


def _new_items(writes: Sequence[Write], start: int) -> list[Put]:
    """The new items (puts that must not exist) in a row from ``start``."""
    return _run_of(writes, start, lambda w: w.must_not_exist)


def _plain_puts(writes: Sequence[Write], start: int) -> list[Put]:
    """The unconditioned puts in a row from ``start``."""
    return _run_of(writes, start, lambda w: not w.must_not_exist)


def _run_of(writes: Sequence[Write], start: int, kind: Callable[[Put], bool]) -> list[Put]:
    """The puts with no version expected, of one ``kind``, in a row from ``start``: as
    many as one statement takes."""
    run: list[Put] = []
    for w in writes[start:start + _MAX_ROWS]:
        if not (isinstance(w, Put) and w.expect_version is None and kind(w)):
            break
        run.append(w)
    return run


Shape = tuple[str | None, bool, bool, bool, bool, bool, tuple[tuple[str, str, int], ...]]


def _range_args(pk: str, index: str | None = None, prefix: str | None = None,
                start: str | None = None, end: str | None = None, forward: bool = True,
                cursor: str | None = None, where: Sequence[Where] = ()
                ) -> tuple[list[Any], Shape]:
    """A range query's parameters (but its limit) and its shape, which names its SQL."""
    args, key = key_range_args(pk, index, prefix, start, end, cursor)
    shape: list[tuple[str, str, int]] = []
    for cond in where:
        params = _where_params(cond)
        shape.append((cond.attr, cond.op, len(params)))
        args += params
    return args, (index, prefix is not None, start is not None, end is not None, bool(key),
                  forward, tuple(shape))


def _range_sql(table: str, index: str | None, prefix: bool, start: bool, end: bool,
               cursor: bool, forward: bool, where: tuple[tuple[str, str, int], ...],
               body: str = "body") -> tuple[str, list[str]]:
    """The rows of a page, in order (the limit its last parameter), and its key columns;
    ``body``: what each row gives first (the body, or an SQL expression with its name)."""
    pcol, scol = key_columns(index)
    order_cols = [scol, "pk", "sk"] if index else ["sk"]
    columns = ", ".join([body, *order_cols])
    keys, order = key_range_sql(scol, order_cols, prefix, start, end, cursor, forward, "?")
    sql = [f'SELECT {columns} FROM "{table}" WHERE {pcol} = ?', *keys,
           *("AND " + _where_sql(attr, op, n) for attr, op, n in where), order, "LIMIT ?"]
    return " ".join(sql), order_cols


def _keys_sql(order_cols: list[str]) -> str:
    keys = ", ".join(f"coalesce({c}, '')" for c in order_cols)
    return f"'[' || group_concat(json_array({keys}), ',') || ']'"


# Statements by the shape of the query (its values are parameters): built once, not on
# every list request.
#
# A page is one row back, not one per item: each step of a statement lets go of the GIL,
# and under a threaded server every such hand-over costs a few context switches. Bodies
# come back as bytes (CAST AS BLOB), which orjson reads as they are: as text they would be
# decoded into a str that orjson then encodes again (docs/performance.md has the figures).


@functools.lru_cache(maxsize=512)
def _page_sql(table: str, shape: Shape, along: int) -> str:
    """The bodies at ``along`` keys (their parameters first), then the page's bodies (the
    limit the last parameter) and their first sort keys (``_json_page_sql``)."""
    rows, order_cols = _range_sql(table, *shape)
    items = f"{_bodies_sql(table, along)}, " if along else ""
    return (f"SELECT {items}CAST('[' || group_concat(body, ',') || ']' AS BLOB), "
            f"group_concat(coalesce({order_cols[0]}, ''), char(30)) FROM ({rows})")


@functools.lru_cache(maxsize=512)
def _sorted_page_sql(table: str, shape: Shape) -> str:
    """The page's bodies and all their sort keys, to sort them by."""
    rows, order_cols = _range_sql(table, *shape)
    return (f"SELECT CAST('[' || group_concat(body, ',') || ']' AS BLOB), "
            f"{_keys_sql(order_cols)} FROM ({rows})")


@functools.lru_cache(maxsize=64)
def _many_sql(table: str, keys: int) -> str:
    """The bodies at ``keys`` keys, as one row of as many columns (NULL for none)."""
    return "SELECT " + _bodies_sql(table, keys)


def _bodies_sql(table: str, keys: int) -> str:
    return ", ".join([f'(SELECT CAST(body AS BLOB) FROM "{table}" WHERE pk = ? AND sk = ?)']
                     * keys)


@functools.lru_cache(maxsize=512)
def _json_page_sql(table: str, attribute: str, kept: bool, shape: Shape, along: int) -> str:
    """The bodies at ``along`` keys (their parameters first), then the attribute of up to
    ``limit`` rows (the limit the last parameter) and their first sort keys, each joined by
    a control character that JSON text never holds unescaped. ``kept``: the attribute has
    a column of its own, read where set (coalesce stops at the first value, so the body of
    such a row is never parsed)."""
    # ->, not json_extract: it gives JSON back (true, "text"), not SQL values (1, text).
    value = f"body -> '$.{attribute}', 'null'"
    if kept:
        value = f"{_json_column(attribute)}, {value}"
    rows, order_cols = _range_sql(table, *shape, body=f"coalesce({value}) AS v")
    # Only the first sort key: the others cost as much again to join, and a page whose
    # first keys are distinct is ordered by them alone (_strictly_ordered).
    items = f"{_bodies_sql(table, along)}, " if along else ""
    return (f"SELECT {items}CAST(group_concat(v, char(30)) AS BLOB), "
            f"group_concat(coalesce({order_cols[0]}, ''), char(30)) FROM ({rows})")


_SEP, _SEP_BYTES = "\x1e", b"\x1e"


def _strictly_ordered(keys: list[str], forward: bool) -> bool:
    return len(set(keys)) == len(keys) and keys == sorted(keys, reverse=not forward)


def _cursor_key(first: str, index: str | None, forward: bool) -> list[str]:
    """The cursor after the row whose first sort key is ``first``, unique in its page and
    unlike the next row's: past every row with that key, whatever its pk and sk (none
    sorts below "" or above the prefix bound)."""
    if index is None:
        return [first]  # the sk, the only sort key
    bound = "\U0010ffff" if forward else ""
    return [first, bound, bound]


def _where_sql(attr: str, op: str, values: int) -> str:
    expr = f"json_extract(body, '$.{attribute_name(attr)}')"
    if op == "exists":
        return f"{expr} IS NOT NULL"
    if op == "not_exists":
        return f"{expr} IS NULL"
    if op == "in":
        return f"{expr} IN ({', '.join('?' * values)})" if values else "0"
    if op == "!=":
        return f"({expr} IS NULL OR {expr} != ?)"
    return f"{expr} {_OPS[op]} ?"


def _where_params(cond: Where) -> list[Any]:
    if cond.op in ("exists", "not_exists"):
        return []
    if cond.op == "in":
        return [_sql_value(v) for v in cond.value]
    return [_sql_value(cond.value)]


def _sql_value(value: Any) -> Any:
    # json_extract gives JSON true/false back as 1/0.
    return int(value) if isinstance(value, bool) else value
