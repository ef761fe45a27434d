"""The table port's offline scan: every item of a key prefix, and only those, across
pages, while the caller writes between them (as the ops jobs do)."""

from __future__ import annotations

from pathlib import Path

from shared.tables import Put
from shared.tables.sqlite import SQLiteDatabase


def test_a_scan_reads_a_prefix_in_pages_and_may_write_as_it_goes(tmp_path: Path) -> None:
    table = SQLiteDatabase(tmp_path / "t.db").table("t")
    for n in range(1203):
        table.transact([Put({"pk": f"REQ#{n:05}", "sk": "REQ", "version": 1, "n": n}),
                        Put({"pk": f"REQ#{n:05}", "sk": "VIEW", "version": 1})])
    table.transact([Put({"pk": "REQX", "sk": "REQ", "version": 1}),
                    Put({"pk": "ROSTER#o", "sk": "a", "version": 1}),
                    Put({"pk": "ROSTER#o", "sk": "b", "version": 1})])
    seen = []
    for item in table.scan("REQ#", "REQ"):
        seen.append(item["n"])
        table.transact([Put({"pk": "OTHER", "sk": str(item["n"]), "version": 1})])
    assert seen == list(range(1203))
    assert [i["sk"] for i in table.scan("ROSTER#")] == ["a", "b"]
    assert len(list(table.scan("REQ#"))) == 2406
