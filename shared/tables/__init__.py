"""The table port: a small, DynamoDB-shaped key-value store.

Items are dicts with a partition key ``pk`` and a sort key ``sk``. Secondary indexes are
sparse: an item joins index ``gsiN`` by carrying ``gsiNpk`` and ``gsiNsk``. Writes happen in
transactions of puts, deletes and checks, each optionally conditioned on the stored item's
``version`` (optimistic concurrency) or on its absence.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

import orjson

Item = dict[str, Any]
INDEXES = ("gsi1", "gsi2", "gsi3", "gsi4")


def key_columns(index: str | None) -> tuple[str, str]:
    """The partition and sort attributes a query reads: the table's, or an index's."""
    if index is None:
        return "pk", "sk"
    if index not in INDEXES:
        raise TableError(f"unknown index {index}")
    return f"{index}pk", f"{index}sk"


Op = Literal["=", "!=", "in", "<", "<=", ">", ">=", "exists", "not_exists"]


class TableError(Exception):
    pass


class StoreUnavailable(TableError):
    """The store cannot be used as configured (unreachable, schema behind, a setting
    missing): the message names the cause and the fix, for an operator."""


class ConditionFailed(TableError):
    """A write's condition did not hold; nothing in the transaction was written."""

    def __init__(self, index: int | None = None) -> None:
        super().__init__(f"condition failed (operation {index})")
        self.index = index


@dataclass(frozen=True)
class Put:
    item: Item
    expect_version: int | None = None
    must_not_exist: bool = False


@dataclass(frozen=True)
class Delete:
    pk: str
    sk: str
    expect_version: int | None = None


@dataclass(frozen=True)
class Check:
    pk: str
    sk: str
    expect_version: int | None = None
    must_exist: bool = False
    must_not_exist: bool = False


Write = Put | Delete | Check


@dataclass(frozen=True)
class Where:
    """A filter on a top-level attribute, applied before the page is cut."""

    attr: str
    op: Op
    value: Any = None


@dataclass
class Page:
    items: list[Item]
    next_cursor: str | None = None
    # The items at the query's ``along`` keys, in their order, None where there is none.
    along: list[Item | None] = field(default_factory=list)


@dataclass
class JsonPage:
    """One attribute of each item of a page, as a JSON array ready to send: a list route
    over stored views need not build and then serialise their objects again."""

    items: bytes
    next_cursor: str | None = None
    # The items at the query's ``along`` keys, in their order, None where there is none.
    along: list[Item | None] = field(default_factory=list)


class ReadItems:
    """Items already read (``JsonPage.along``, ``get_many``'s), for code that reads them
    by ``get``: a key that was not read is a mistake, not a read."""

    def __init__(self, keys: Sequence[tuple[str, str]], items: Sequence[Item | None]) -> None:
        self.items = dict(zip(keys, items, strict=True))

    def get(self, pk: str, sk: str) -> Item | None:
        return self.items[(pk, sk)]


def attribute_name(name: str) -> str:
    """A top-level attribute's name, as queries may name one (letters, digits, _)."""
    if not name.replace("_", "").isalnum():
        raise TableError(f"bad attribute name {name!r}")
    return name


def attribute_page(page: Page, attribute: str, along: list[Item | None] | None = None
                   ) -> JsonPage:
    """A JsonPage made from a Page: what an adapter without a faster way does."""
    attribute_name(attribute)
    return JsonPage(orjson.dumps([item.get(attribute) for item in page.items]),
                    page.next_cursor, along or [])


class Table(Protocol):
    name: str

    def get(self, pk: str, sk: str) -> Item | None: ...

    def get_many(self, keys: Sequence[tuple[str, str]]) -> list[Item | None]:
        """The items at ``keys`` (pk, sk), in their order, None where there is none: in
        one request to the store where it has a way (what a unit of work knows it will
        read, in one round trip instead of one each). Each is as ``get`` would read it;
        together they are no snapshot."""
        ...

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
        """Up to ``limit`` items of partition ``pk`` (of ``index``) in sort-key order, and a
        cursor when there are more. ``along``: keys (pk, sk) of items wanted beside the page
        (``Page.along``, as ``get_many`` reads them), read with it where the store has a
        way: what decides whether the caller may see the page (SQLite: in the same
        statement, so from the same snapshot)."""
        ...

    def query_json(
        self,
        pk: str,
        *,
        attribute: str,
        index: str | None = None,
        prefix: str | None = None,
        start: str | None = None,
        end: str | None = None,
        forward: bool = True,
        limit: int = 100,
        cursor: str | None = None,
        where: Sequence[Where] = (),
        along: Sequence[tuple[str, str]] = (),
    ) -> JsonPage:
        """``query``'s page, as the JSON array of each item's ``attribute`` (null where an
        item lacks it), with its ``along`` items; its cursor walks on to ``query``'s next
        page."""
        ...

    def transact(self, writes: Sequence[Write], *, durable: bool = True) -> None:
        """All of ``writes`` or none. ``durable=False``: the commit has to outlive the
        death of this process, not that of the store's server: an adapter may then
        answer before the commit reaches the disk (PostgreSQL: without waiting for its
        WAL flush, which its WAL writer makes within a fraction of a second, and any
        durable commit after it makes at once). The writes are as atomic, isolated and
        visible to others as a durable commit's; a crash of the server itself in that
        fraction of a second may lose them (never part of them, never a later durable
        commit's without them). For records about the process's own runs (the crash
        guard's counts), never for acknowledged work."""
        ...

    def scan(self, prefix: str, sk: str | None = None) -> Iterator[Item]:
        """Every item whose partition key begins with ``prefix`` (and whose sort key is
        ``sk``, if given), streamed in pages: for offline jobs only, never a request's
        path, which reads one partition at a time."""
        ...


def prefix_end(prefix: str) -> str:
    """The first key after every key that begins with ``prefix``."""
    return prefix[:-1] + chr(ord(prefix[-1]) + 1)


def key_range_args(pk: str, index: str | None, prefix: str | None, start: str | None,
                   end: str | None, cursor: str | None) -> tuple[list[Any], list[str]]:
    """The key conditions' parameters of an SQL adapter's range query, in the order its SQL
    names them, and the cursor's key (empty on a first page)."""
    args: list[Any] = [pk]
    if prefix is not None:
        args += [prefix, prefix + "\U0010ffff"]
    if start is not None:
        args.append(start)
    if end is not None:
        args.append(end)
    key: list[str] = decode_cursor(cursor) if cursor else []
    if key and len(key) != (3 if index else 1):
        raise ValueError("invalid cursor")
    return args + key, key


def key_range_sql(scol: str, order_cols: list[str], prefix: bool, start: bool, end: bool,
                  cursor: bool, forward: bool, mark: str) -> tuple[list[str], str]:
    """An SQL adapter's key conditions after the partition key's (their parameters as
    ``key_range_args`` orders them; ``mark`` the driver's placeholder) and its ORDER BY."""
    sql = []
    if prefix:
        # A range, not LIKE: it uses the index and treats % and _ literally.
        sql.append(f"AND {scol} >= {mark} AND {scol} < {mark}")
    if start:
        sql.append(f"AND {scol} >= {mark}")
    if end:
        sql.append(f"AND {scol} <= {mark}")
    if cursor:
        cmp = ">" if forward else "<"
        marks = ", ".join([mark] * len(order_cols))
        sql.append(f"AND ({', '.join(order_cols)}) {cmp} ({marks})")
    direction = "ASC" if forward else "DESC"
    return sql, "ORDER BY " + ", ".join(f"{c} {direction}" for c in order_cols)


def encode_cursor(key: Sequence[str]) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(list(key))).decode().rstrip("=")


def decode_cursor(cursor: str) -> list[str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        key = orjson.loads(raw)
    except ValueError as exc:  # orjson.JSONDecodeError is one
        raise ValueError("invalid cursor") from exc
    if not isinstance(key, list) or not all(isinstance(k, str) for k in key):
        raise ValueError("invalid cursor")
    return key


def matches(item: Item, conditions: Sequence[Where]) -> bool:
    """Reference semantics of ``Where`` for adapters that filter in Python."""
    for c in conditions:
        value = item.get(c.attr)
        if c.op == "exists":
            ok = value is not None
        elif c.op == "not_exists":
            ok = value is None
        elif c.op == "=":
            ok = value == c.value
        elif c.op == "!=":
            ok = value != c.value
        elif c.op == "in":
            ok = value in c.value
        elif value is None:
            ok = False
        else:
            ok = {
                "<": value < c.value,
                "<=": value <= c.value,
                ">": value > c.value,
                ">=": value >= c.value,
            }[c.op]
        if not ok:
            return False
    return True

