"""The SQLite adapter's JSON pages rely on an aggregate meeting rows in order, which SQLite
does not promise: when it does not, the page is still right."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest

from shared.tables import Put
from shared.tables import sqlite as adapter


def test_rows_met_out_of_order_still_make_the_right_page(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    table = adapter.SQLiteDatabase(tmp_path / "t.db").table("t")
    table.transact([Put({"pk": "p", "sk": f"s#{i:02d}", "version": 1, "view": {"n": i}})
                    for i in range(12)])
    plain = adapter._json_page_sql

    def reversed_rows(*args: Any) -> str:  # the same rows, fed to the aggregate backwards
        head, _, tail = plain(*args).rpartition("ORDER BY sk ASC")  # the page's own rows
        return f"{head}ORDER BY sk DESC{tail}"

    monkeypatch.setattr(adapter, "_json_page_sql", reversed_rows)
    page = table.query_json("p", attribute="view", limit=20)
    assert orjson.loads(page.items) == [{"n": i} for i in range(12)]
    assert page.next_cursor is None
    plain_page = adapter._page_sql

    def reversed_page(*args: Any) -> str:
        head, _, tail = plain_page(*args).rpartition("ORDER BY sk ASC")
        return f"{head}ORDER BY sk DESC{tail}"

    monkeypatch.setattr(adapter, "_page_sql", reversed_page)
    first = table.query("p", limit=5)
    assert [i["view"]["n"] for i in first.items] == [0, 1, 2, 3, 4]
    rest = table.query("p", limit=20, cursor=first.next_cursor)
    assert [i["view"]["n"] for i in rest.items] == list(range(5, 12))


def _kept(table: adapter.SQLiteTable, sk: str) -> object:
    """The view's column of a stored row, as SQLite holds it."""
    return table.db.connection().execute(
        f'SELECT json_view FROM "{table.name}" WHERE pk = ? AND sk = ?', ("p", sk)).fetchone()[0]


def test_a_page_joins_the_kept_column_not_the_body(tmp_path: Path) -> None:
    table = adapter.SQLiteDatabase(tmp_path / "t.db").table("t", json_attributes=("view",))
    table.transact([Put({"pk": "p", "sk": "s#1", "version": 1, "view": {"n": "Zé"}})])
    assert orjson.loads(str(_kept(table, "s#1"))) == {"n": "Zé"}
    # Set apart from the body behind the adapter's back: the page shows the column's.
    table.db.connection().execute("""UPDATE t SET json_view = '{"n":2}'""")
    assert orjson.loads(table.query_json("p", attribute="view").items) == [{"n": 2}]


def test_a_table_made_before_gets_the_column_and_its_old_rows_still_read(
        tmp_path: Path) -> None:
    path = tmp_path / "t.db"
    old = adapter.SQLiteDatabase(path).table("t")  # as every table was made before
    old.transact([Put({"pk": "p", "sk": f"s#{i}", "version": 1, "view": {"n": i}})
                  for i in range(3)])
    table = adapter.SQLiteDatabase(path).table("t", json_attributes=("view",))
    assert table.json_attributes == ("view",) and _kept(table, "s#0") is None
    assert orjson.loads(table.query_json("p", attribute="view").items) == [
        {"n": 0}, {"n": 1}, {"n": 2}]
    table.transact([Put({"pk": "p", "sk": "s#1", "version": 2, "view": {"n": 10}},
                        expect_version=1)])
    assert orjson.loads(str(_kept(table, "s#1"))) == {"n": 10}
    assert orjson.loads(table.query_json("p", attribute="view").items) == [
        {"n": 0}, {"n": 10}, {"n": 2}]
    # A process that declares nothing still writes the column it finds: none goes stale.
    other = adapter.SQLiteDatabase(path).table("t")
    assert other.json_attributes == ("view",)
    other.transact([Put({"pk": "p", "sk": "s#2", "version": 1, "view": {"n": 20}})])
    assert orjson.loads(table.query_json("p", attribute="view").items) == [
        {"n": 0}, {"n": 10}, {"n": 20}]
    # Declared again in another process: nothing to add.
    again = adapter.SQLiteDatabase(path).table("t", json_attributes=("view",))
    assert again.json_attributes == ("view",)


def test_get_many_reads_past_one_statements_worth_of_keys(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    table = adapter.SQLiteDatabase(tmp_path / "t.db").table("t")
    table.transact([Put({"pk": "p", "sk": f"{i}", "version": 1, "n": i}) for i in range(7)])
    monkeypatch.setattr(adapter, "_MAX_ROWS", 3)
    keys = [("p", f"{i}") for i in (6, 9, 0, 1, 2, 3, 6, 5)]
    assert [(i or {}).get("n") for i in table.get_many(keys)] == [6, None, 0, 1, 2, 3, 6, 5]


def test_a_table_opened_before_its_column_was_added_writes_it_too(tmp_path: Path) -> None:
    db = adapter.SQLiteDatabase(tmp_path / "t.db")
    first = db.table("t")
    db.table("t", json_attributes=("view",))
    first.transact([Put({"pk": "p", "sk": "s#1", "version": 1, "view": {"n": 1}})])
    assert orjson.loads(str(_kept(first, "s#1"))) == {"n": 1}


@pytest.mark.parametrize("forward", [True, False])
def test_ties_on_the_first_sort_key_and_separators_in_keys_still_page_right(
        tmp_path: Path, forward: bool) -> None:
    """A JSON page proves its order by its rows' first sort keys alone, and names its
    cursor by that key: keys that tie, or that hold the character the page joins them by,
    take the general path, and every page is still query's."""
    table = adapter.SQLiteDatabase(tmp_path / "t.db").table("t", json_attributes=("view",))
    firsts = ["a", "b", "b", "b", "c", "d\x1ee", "f", "g", "g"]
    table.transact([Put({"pk": f"p{i}", "sk": "s", "version": 1, "view": {"n": i},
                         "gsi1pk": "G", "gsi1sk": first}) for i, first in enumerate(firsts)])

    def walk(json: bool) -> list[object]:
        seen, cursor = [], None
        while True:
            if json:
                page = table.query_json("G", index="gsi1", attribute="view", limit=2,
                                        forward=forward, cursor=cursor)
                seen += orjson.loads(page.items)
            else:
                plain = table.query("G", index="gsi1", limit=2, forward=forward,
                                    cursor=cursor)
                seen += [i["view"] for i in plain.items]
                page = plain  # type: ignore[assignment]
            if not (cursor := page.next_cursor):
                return seen

    assert walk(json=True) == walk(json=False)
    assert len(walk(json=True)) == len(firsts)
