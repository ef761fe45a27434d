"""Every DynamoDB read is bounded: a filter that matches little in a large partition reads
at most READ_BUDGET items per call and hands back a cursor where it stopped, and following
the cursors still finds every match once. (The budget is made small here: moto copies a
whole table on each transaction, so thousands of items would take minutes to write.)"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from shared.tables import Put, Where
from shared.tables import dynamodb as adapter
from shared.tables.dynamodb import physical_pk
from tests.aws.dynamo_adapter import dynamodb_table

BUDGET = 40
ITEMS = BUDGET * 2 + 12


def test_a_filter_that_matches_nothing_reads_a_bounded_page(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(adapter, "READ_BUDGET", BUDGET)
    with dynamodb_table(tmp_path) as table:
        for start in range(0, ITEMS, 25):
            table.transact([Put({"pk": "p", "sk": f"{i:05d}", "version": 1,
                                 "hit": i in (5, ITEMS - 3), "gsi1pk": "G",
                                 "gsi1sk": f"{i:05d}"})
                            for i in range(start, min(ITEMS, start + 25))])
        scanned: list[int] = []
        call = table._call

        def counting(method: str, **kwargs: Any) -> Any:
            resp = call(method, **kwargs)
            scanned.append(resp.get("ScannedCount", 0))
            return resp

        table._call = counting  # type: ignore[method-assign]
        for index, pk in ((None, "p"), ("gsi1", "G")):
            found, cursor, calls = [], None, 0
            while True:
                scanned.clear()
                page = table.query(pk, index=index, limit=10, cursor=cursor,
                                   where=[Where("hit", "=", True)])
                assert sum(scanned) <= BUDGET, (index, scanned)
                found += [i["sk"] for i in page.items]
                calls += 1
                if not (cursor := page.next_cursor):
                    break
            assert found == ["00005", f"{ITEMS - 3:05d}"], index
            assert calls == 3  # 40 + 40 + 12 items read
        # Unfiltered pages read exactly what they return, plus one.
        scanned.clear()
        assert len(table.query("p", limit=30).items) == 30 and sum(scanned) == 31


def _pages(table: Any, pk: str, **query: Any) -> list[list[str]]:
    pages, cursor = [], None
    while True:
        page = table.query(pk, cursor=cursor, **query)
        pages.append([i["sk"] for i in page.items])
        if not (cursor := page.next_cursor):
            return pages


def test_a_sharded_partition_reads_as_one(tmp_path: Path,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """The outbox, spread over shards on DynamoDB, pages exactly as on SQLite, where it is
    one partition; with a small read budget every match is still found once."""
    from shared.tables.sqlite import SQLiteDatabase

    reference = SQLiteDatabase(tmp_path / "ref.db").table("ref")
    items = [{"pk": "OUTBOX", "sk": f"2026-12-04T10:{i:02d}#e{i}#svc", "version": 1,
              "status": "dead" if i % 7 == 3 else "pending"} for i in range(50)]
    with dynamodb_table(tmp_path) as table:
        for start in range(0, len(items), 25):
            for t in (table, reference):
                t.transact([Put(i) for i in items[start:start + 25]])
        assert len({physical_pk("OUTBOX", i["sk"]) for i in items}) == adapter.SHARDS["OUTBOX"]
        assert table.get("OUTBOX", items[3]["sk"]) == items[3]
        for query in ({"limit": 7}, {"limit": 7, "forward": False}, {"limit": 100},
                      {"limit": 5, "start": "2026-12-04T10:10", "end": "2026-12-04T10:30"},
                      {"limit": 4, "where": [Where("status", "=", "dead")]},
                      {"limit": 4, "forward": False, "where": [Where("status", "=", "dead")]}):
            assert _pages(table, "OUTBOX", **query) == _pages(reference, "OUTBOX", **query)
        monkeypatch.setattr(adapter, "READ_BUDGET", adapter.SHARDS["OUTBOX"] * 3)
        for forward in (True, False):
            found = [sk for page in _pages(table, "OUTBOX", limit=2, forward=forward,
                                           where=[Where("status", "=", "dead")])
                     for sk in page]
            assert found == sorted((i["sk"] for i in items if i["status"] == "dead"),
                                   reverse=not forward)
