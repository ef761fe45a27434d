"""Background checkpoints: committed pages reach the database file without a commit
copying them."""

from __future__ import annotations

import time
from pathlib import Path

from shared.tables import Put
from shared.tables.sqlite import SQLiteDatabase


def _fill(db: SQLiteDatabase) -> None:
    table = db.table("t")
    for batch in range(20):  # about 2 MB: far below the commits' own checkpoint mark
        table.transact([Put({"pk": "p", "sk": f"{batch:02d}#{n:03d}", "version": 1,
                             "pad": "x" * 1000}) for n in range(100)])


def test_committed_pages_reach_the_database_file_in_the_background(tmp_path: Path) -> None:
    db = SQLiteDatabase(tmp_path / "a.db")
    stop = db.start_checkpoints(every=0.05)
    try:
        _fill(db)
        deadline = time.monotonic() + 5
        while (tmp_path / "a.db").stat().st_size < 2_000_000 and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        stop.set()
    assert (tmp_path / "a.db").stat().st_size >= 2_000_000
    assert len(db.table("t").query("p", limit=5000).items) == 2000


def test_without_them_the_pages_wait_in_the_wal(tmp_path: Path) -> None:
    db = SQLiteDatabase(tmp_path / "b.db")
    _fill(db)
    time.sleep(0.3)
    assert (tmp_path / "b.db").stat().st_size < 500_000  # the measure above can tell
    assert (tmp_path / "b.db-wal").stat().st_size >= 2_000_000
