"""The console's sessions (console/sessions.py) on SQLite: the person a session holds."""

from __future__ import annotations

from pathlib import Path

from console.sessions import SessionStore
from shared.clock import FrozenClock
from shared.identity import Principal
from shared.tables.sqlite import SQLiteDatabase


def test_sessions_of_one_person_share_a_principal_and_another_person_is_read_anew(
        tmp_path: Path) -> None:
    db = SQLiteDatabase(tmp_path / "s.db")
    store = SessionStore(db.table("console"), FrozenClock(), idle_seconds=600,
                         absolute_seconds=3600)
    ana = Principal(sub="att-1", name="Ana", roles=("attendant",), org="o", unit="u")
    first, second = store.load(store.new(ana).id), store.load(store.new(ana).id)
    assert first is not None and second is not None
    assert first.principal == ana and second.principal is first.principal
    moved = ana.model_copy(update={"roles": ("registrar",), "unit": None})
    third = store.load(store.new(moved).id)
    assert third is not None and third.principal == moved
    assert first.principal.roles == ("attendant",)  # type: ignore[union-attr]
