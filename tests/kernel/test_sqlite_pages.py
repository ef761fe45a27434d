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
