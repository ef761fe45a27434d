"""The SQLite adapter's writes: what they leave in the file, and what they cost in
statements and bound values (each a visible part of a consumer's time)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from shared.tables import Put
from shared.tables import sqlite as adapter


@pytest.fixture
def table(tmp_path: Path) -> adapter.SQLiteTable:
    return adapter.SQLiteDatabase(tmp_path / "t.db").table("t")


@pytest.fixture
def nones_bound() -> Iterator[list[None]]:
    """Every None the sqlite3 module is handed as a parameter (an adapter for None is
    consulted on each; without one, finding none costs an exception raised and cleared)."""
    seen: list[None] = []
    key = (type(None), sqlite3.PrepareProtocol)
    sqlite3.register_adapter(type(None), lambda v: seen.append(v))
    try:
        yield seen
    finally:
        del sqlite3.adapters[key]


def _statements(table: adapter.SQLiteTable) -> list[str]:
    run: list[str] = []
    table.db.connection().set_trace_callback(run.append)
    return run


def test_writes_bind_no_none(table: adapter.SQLiteTable, nones_bound: list[None]) -> None:
    """An item's empty index columns and missing version are written as NULL in the
    statement, not bound, in every kind of write."""
    table.transact([Put({"pk": "p", "sk": "a", "v": 1}, must_not_exist=True),
                    Put({"pk": "p", "sk": "b", "v": 1}, must_not_exist=True)])  # one INSERT
    table.transact([Put({"pk": "p", "sk": "c", "v": 1}, must_not_exist=True)])
    table.transact([Put({"pk": "p", "sk": "d", "v": 1})])  # new, unconditioned
    table.transact([Put({"pk": "p", "sk": "d", "v": 2})])  # over it, keys as they were
    table.transact([Put({"pk": "p", "sk": "d", "v": 3, "gsi1pk": "G", "gsi1sk": "x"})])
    table.transact([Put({"pk": "p", "sk": "e", "version": 1}, must_not_exist=True)])
    table.transact([Put({"pk": "p", "sk": "e", "version": 2}, expect_version=1)])
    table.transact([Put({"pk": "p", "sk": "e", "version": 3, "gsi2pk": "H", "gsi2sk": "y"},
                        expect_version=2)])
    table.transact([Put({"pk": "p", "sk": "e", "version": 4}, expect_version=3)])
    assert nones_bound == []
    assert [i["sk"] for i in table.query("G", index="gsi1").items] == ["d"]
    assert table.query("H", index="gsi2").items == []
    assert table.get("p", "e") == {"pk": "p", "sk": "e", "version": 4}


def test_a_versioned_put_that_keeps_its_index_keys_is_one_statement(
        table: adapter.SQLiteTable) -> None:
    table.transact([Put({"pk": "p", "sk": "e", "version": 1, "gsi1pk": "G", "gsi1sk": "x"},
                        must_not_exist=True)])
    run = _statements(table)
    table.transact([Put({"pk": "p", "sk": "e", "version": 2, "gsi1pk": "G", "gsi1sk": "x",
                         "v": 2}, expect_version=1)])
    assert len(run) == 3  # BEGIN, the UPDATE, COMMIT
    assert table.get("p", "e")["v"] == 2


def test_a_new_item_put_unconditioned_is_one_statement(table: adapter.SQLiteTable) -> None:
    run = _statements(table)
    table.transact([Put({"pk": "p", "sk": "t", "v": 1})])
    assert len(run) == 3  # BEGIN, the INSERT, COMMIT
    table.transact([Put({"pk": "p", "sk": "t", "v": 2})])
    assert len(run) == 6 and table.get("p", "t")["v"] == 2


def test_unconditioned_puts_in_a_row_are_one_statement(table: adapter.SQLiteTable) -> None:
    """A batch's timeline entries: one INSERT … ON CONFLICT for all of them, new rows and
    rows rewritten in place alike."""
    table.transact([Put({"pk": "p", "sk": "a", "v": 0})])
    run = _statements(table)
    table.transact([Put({"pk": "p", "sk": s, "v": 1}) for s in "abc"])
    assert len([s for s in run if s.startswith("INSERT")]) == 1
    assert [i["v"] for i in table.query("p").items] == [1, 1, 1]


def test_unconditioned_puts_that_move_a_row_between_index_keys(
        table: adapter.SQLiteTable) -> None:
    """A row whose index keys change is left by the one statement; each is then put in
    turn, and every row ends as written."""
    table.transact([Put({"pk": "p", "sk": "a", "v": 0, "gsi1pk": "G", "gsi1sk": "1"}),
                    Put({"pk": "p", "sk": "b", "v": 0})])
    table.transact([Put({"pk": "p", "sk": "a", "v": 1, "gsi1pk": "H", "gsi1sk": "1"}),
                    Put({"pk": "p", "sk": "b", "v": 1}),
                    Put({"pk": "p", "sk": "c", "v": 1})])
    assert [i["v"] for i in table.query("p").items] == [1, 1, 1]
    assert table.query("G", index="gsi1").items == []
    assert [i["sk"] for i in table.query("H", index="gsi1").items] == ["a"]
