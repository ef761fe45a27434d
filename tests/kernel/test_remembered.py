"""A request's remembered reads (shared/tables/remembered.py): each item read from the
table once, each caller given an item of its own, and nothing written through them."""

from __future__ import annotations

from pathlib import Path

import pytest

from shared.tables import Item, Put
from shared.tables.remembered import Remembered, snapshot
from shared.tables.sqlite import SQLiteDatabase, SQLiteTable


class Counting(SQLiteTable):
    gets = 0

    def get(self, pk: str, sk: str) -> Item | None:
        self.gets += 1
        return super().get(pk, sk)


def table(tmp_path: Path) -> Counting:
    db = SQLiteDatabase(tmp_path / "t.db")
    db.table("t")
    return Counting(db, "t")


def test_each_item_is_read_once_and_each_caller_gets_its_own(tmp_path: Path) -> None:
    t = table(tmp_path)
    t.transact([Put({"pk": "P", "sk": "S", "version": 1, "n": [1]})])
    reads = Remembered(t)
    first = reads.get("P", "S")
    assert first is not None
    first["n"].append(2)  # a store takes the item it read apart
    del first["pk"]
    again = reads.get("P", "S")
    assert again == {"pk": "P", "sk": "S", "version": 1, "n": [1]} and again is not first
    assert reads.get("P", "none") is None and reads.get("P", "none") is None
    assert t.gets == 2
    assert Remembered(t).get("P", "S") is not None and t.gets == 3  # a new request


def test_nothing_is_written_through_them(tmp_path: Path) -> None:
    t = table(tmp_path)
    with pytest.raises(TypeError):
        Remembered(t).transact([Put({"pk": "P", "sk": "S", "version": 1})])
    assert t.get("P", "S") is None


def test_a_snapshot_reads_one_moment_of_the_store(tmp_path: Path) -> None:
    t = table(tmp_path)
    t.transact([Put({"pk": "P", "sk": "S", "version": 1})])
    # Another process's connection to the same file.
    other = SQLiteDatabase(tmp_path / "t.db").table("t")
    with snapshot([t, t]):  # tables sharing a file share the one read transaction
        assert t.get("P", "S") == {"pk": "P", "sk": "S", "version": 1}
        other.transact([Put({"pk": "P", "sk": "S", "version": 2}, expect_version=1),
                        Put({"pk": "P", "sk": "T", "version": 1})])
        assert t.get("P", "S") == {"pk": "P", "sk": "S", "version": 1}
        assert t.get("P", "T") is None and t.query("P").items == [
            {"pk": "P", "sk": "S", "version": 1}]
    assert t.get("P", "S") == {"pk": "P", "sk": "S", "version": 2}
    assert not t.db.connection().in_transaction


def test_a_snapshot_ends_when_a_read_fails(tmp_path: Path) -> None:
    t = table(tmp_path)
    with pytest.raises(LookupError), snapshot([t]):
        raise LookupError
    assert not t.db.connection().in_transaction


def test_a_table_without_snapshots_reads_as_before(tmp_path: Path) -> None:
    t = table(tmp_path)
    reads = Remembered(t)  # nothing to open a snapshot with: each read stands alone
    with snapshot([reads]):
        assert reads.get("P", "S") is None
        assert not t.db.connection().in_transaction
