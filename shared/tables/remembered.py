"""A table's reads for one caller's request: a screen that shows several services' parts
of one thing asks each service's handlers in turn, and each checks the caller against the
same items (the roster entry, the request) before answering. Within that one request each
item is read once; the next request reads the table again, so nothing decided about a
caller outlives the request that decided it."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from typing import Any

import orjson

from shared.tables import Item, JsonPage, Page, Table, Write


class Remembered:
    """``table`` for queries, each item's ``get`` answered once. Not for commands: they
    read the table itself, in their unit of work, right before they write."""

    def __init__(self, table: Table) -> None:
        self.table = table
        self.name = table.name
        # As JSON: each caller gets an item of its own, as from the table (stores take
        # the item they read apart).
        self.items: dict[tuple[str, str], bytes | None] = {}

    def get(self, pk: str, sk: str) -> Item | None:
        key = (pk, sk)
        if key in self.items:
            kept = self.items[key]
            return None if kept is None else orjson.loads(kept)
        item = self.table.get(pk, sk)
        self._keep([key], [item])
        return item

    def get_many(self, keys: Sequence[tuple[str, str]]) -> list[Item | None]:
        todo = list(dict.fromkeys(k for k in keys if k not in self.items))
        if todo:
            self._keep(todo, self.table.get_many(todo))
        return [None if (kept := self.items[key]) is None else orjson.loads(kept)
                for key in keys]

    def query(self, pk: str, *, along: Sequence[tuple[str, str]] = (), **kw: Any) -> Page:
        page = self.table.query(pk, along=along, **kw)
        self._keep(along, page.along)
        return page

    def query_json(self, pk: str, *, attribute: str,
                   along: Sequence[tuple[str, str]] = (), **kw: Any) -> JsonPage:
        page = self.table.query_json(pk, attribute=attribute, along=along, **kw)
        self._keep(along, page.along)
        return page

    def _keep(self, keys: Sequence[tuple[str, str]], items: list[Item | None]) -> None:
        for key, item in zip(keys, items, strict=True):
            self.items[key] = None if item is None else orjson.dumps(item)

    def transact(self, writes: Sequence[Write], *, durable: bool = True) -> None:
        raise TypeError("a request's remembered reads are for queries; a command writes "
                        "through its service's own table")

    def scan(self, prefix: str, sk: str | None = None) -> Iterator[Item]:
        return self.table.scan(prefix, sk)


@contextmanager
def snapshot(tables: Iterable[Table]) -> Iterator[None]:
    """Reads of ``tables`` from one snapshot of their store, where the store takes reads
    that way (SQLite: one read transaction, re-entrant, so tables sharing a file share
    it); elsewhere each read stands alone, as without it. For queries only."""
    with ExitStack() as stack:
        for table in tables:
            reading: Any = getattr(table, "reading", None)
            if reading is not None:
                stack.enter_context(reading())
        yield
