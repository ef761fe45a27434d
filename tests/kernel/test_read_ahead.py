"""A consumer reads the applied marker and what its effect reads in one request to the
store (``apply_once``'s ``reads``, each service's ``event_reads``)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from shared.clock import FrozenClock
from shared.consumer import APPLIED_PK, apply_once
from shared.messages import Event, FollowupPosted, Party
from shared.outbox import UnitOfWork
from shared.tables import Item, Put
from shared.tables.sqlite import SQLiteDatabase, SQLiteTable
from shared.topology import Topology
from tests.followups.test_followups_e2e import (
    test_attendant_and_citizen_exchange_messages_with_files as exchange,
)


class Counting(SQLiteTable):
    """A table that counts its requests."""

    def __init__(self, path: Path) -> None:
        db = SQLiteDatabase(path)
        db.table("t")
        super().__init__(db, "t")
        self.calls: Counter[str] = Counter()

    def get(self, pk: str, sk: str) -> Item | None:
        self.calls["get"] += 1
        return super().get(pk, sk)

    def get_many(self, keys: Sequence[tuple[str, str]]) -> list[Item | None]:
        self.calls["get_many"] += 1
        return [super(Counting, self).get(pk, sk) for pk, sk in keys]


def test_the_marker_and_the_effects_reads_are_one_request(tmp_path: Path) -> None:
    table = Counting(tmp_path / "t.db")
    table.transact([Put({"pk": "REQ#r1", "sk": "REQ", "version": 1, "n": 0})])
    event = FollowupPosted(request_id="r1", followup_id="f1",
                           author=Party(sub="c1", name="Ana"), author_role="citizen")

    def effect(uow: UnitOfWork, e: Event) -> None:
        item = uow.get(f"REQ#{e.request_id}", "REQ")
        assert item is not None
        uow.save({**item, "n": item["n"] + 1, "version": item["version"] + 1})

    def run() -> bool:
        return apply_once(lambda: UnitOfWork(table, None, FrozenClock(), Topology()), "c",
                          event, effect, reads=lambda e: [(f"REQ#{e.request_id}", "REQ")])

    assert run()
    assert table.calls == {"get_many": 1}
    assert not run()  # a repeat is seen in the same one request
    assert table.calls == {"get_many": 2}
    assert table.get("REQ#r1", "REQ")["n"] == 1  # type: ignore[index]
    assert table.get(APPLIED_PK, f"c#{event.id}") is not None


def test_what_each_service_reads_ahead_is_what_its_effect_reads(
        harness: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every consumer's effect reads each key read ahead for it (none is read for
    nothing), and the table is asked for none of them again."""
    ahead: Counter[str] = Counter()
    unread: list[tuple[str, list[tuple[str, str]]]] = []
    again: list[tuple[str, str]] = []
    read_ahead, leave = UnitOfWork.read_ahead, UnitOfWork.__exit__

    def spy_read_ahead(uow: UnitOfWork, keys: Sequence[tuple[str, str]]) -> None:
        ahead[uow.table.name] += 1
        read_ahead(uow, keys)
        uow.__dict__["ahead_keys"] = set(keys)
        table = uow.table

        class Watched:  # the unit of work's table, from now on
            name = table.name

            def __getattr__(self, attr: str) -> Any:
                return getattr(table, attr)

            def get(self, pk: str, sk: str) -> Item | None:
                if (pk, sk) in uow.__dict__["ahead_keys"]:
                    again.append((pk, sk))
                return table.get(pk, sk)

        uow.table = Watched()  # type: ignore[assignment]

    def spy_exit(uow: UnitOfWork, *exc: object) -> None:
        if uow._ahead:
            unread.append((uow.table.name, list(uow._ahead)))
        leave(uow, *exc)

    monkeypatch.setattr(UnitOfWork, "read_ahead", spy_read_ahead)
    monkeypatch.setattr(UnitOfWork, "__exit__", spy_exit)
    exchange(harness)  # request events for three services, follow-ups for two
    assert set(ahead) == {"requests", "followups", "meetings", "reviews"}, ahead
    assert unread == [] and again == []
