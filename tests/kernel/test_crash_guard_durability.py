"""What the crash guard commits without waiting for the store's disk: its own count of a
start, and the clearing of it after a run that wrote nothing (they must outlive the worker
process, not the store's server). An effect, and the clearing of the count with it,
commit durably as every other write does."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from dramatiq import Message
from dramatiq.broker import MessageProxy
from dramatiq.brokers.stub import StubBroker

from shared.clock import FrozenClock
from shared.consumer import APPLIED_PK, DELIVERY_PREFIX, apply_once
from shared.crash_guard import CrashGuard
from shared.messages import FollowupPosted, Party
from shared.outbox import UnitOfWork
from shared.tables import Delete, Put, Table, Write
from shared.tables.sqlite import SQLiteDatabase
from shared.topology import Topology

QUEUE = "requests-events"


class RecordingTable:
    """A table whose write transactions are recorded with their durability."""

    def __init__(self, table: Table) -> None:
        self.table, self.name = table, table.name
        self.transactions: list[tuple[list[Write], bool]] = []

    def get(self, pk: str, sk: str) -> Any:
        return self.table.get(pk, sk)

    def get_many(self, keys: Sequence[tuple[str, str]]) -> Any:
        return self.table.get_many(keys)

    def transact(self, writes: Sequence[Write], *, durable: bool = True) -> None:
        self.transactions.append((list(writes), durable))
        self.table.transact(writes, durable=durable)


def _guarded(tmp_path: Path) -> tuple[RecordingTable, CrashGuard, MessageProxy]:
    table = RecordingTable(SQLiteDatabase(tmp_path / "t.db").table("requests"))
    guard = CrashGuard({QUEUE: table})  # type: ignore[dict-item]
    message = MessageProxy(Message(queue_name=QUEUE, actor_name="a", args=(), kwargs={},
                                   options={}, message_id="m1"))
    return table, guard, message


def test_an_effect_clears_the_count_of_its_start_durably(tmp_path: Path) -> None:
    table, guard, message = _guarded(tmp_path)
    broker = StubBroker()
    event = FollowupPosted(request_id="r1", followup_id="f1",
                           author=Party(sub="c1", name="Ana"), author_role="citizen")

    def effect(uow: UnitOfWork, _: Any) -> None:
        uow.put({"pk": "REQ#r1", "sk": "TL#1", "version": 1}, new=True)

    guard.before_process_message(broker, message)
    start, durable = table.transactions[0]
    assert [type(w) for w in start] == [Put] and not durable
    assert start[0].item["sk"] == f"{DELIVERY_PREFIX}m1"  # type: ignore[union-attr]
    assert apply_once(lambda: UnitOfWork(table, None, FrozenClock(),  # type: ignore[arg-type]
                                         Topology()), "requests", event, effect)
    guard.after_process_message(broker, message)
    # The effect's transaction clears the count, durably; nothing else is written.
    assert len(table.transactions) == 2
    writes, durable = table.transactions[1]
    assert durable and Delete(APPLIED_PK, f"{DELIVERY_PREFIX}m1") in writes
    assert table.get(APPLIED_PK, f"{DELIVERY_PREFIX}m1") is None
    assert table.get("REQ#r1", "TL#1") is not None


def test_a_run_that_wrote_nothing_clears_its_count_without_waiting_for_the_disk(
        tmp_path: Path) -> None:
    table, guard, message = _guarded(tmp_path)
    broker = StubBroker()
    guard.before_process_message(broker, message)
    guard.after_process_message(broker, message)
    assert table.transactions[1:] == [
        ([Delete(APPLIED_PK, f"{DELIVERY_PREFIX}m1")], False)]
    assert table.get(APPLIED_PK, f"{DELIVERY_PREFIX}m1") is None


def test_first_starts_that_begin_together_are_written_in_one_transaction(
        tmp_path: Path) -> None:
    """The starts of messages with no count yet, begun at once, are counted together; a
    second copy of one of them, and a message already counted, are left to the
    one-by-one path (which reads their count and runs them alone)."""
    table, guard, _ = _guarded(tmp_path)
    table.table.transact([Put({"pk": APPLIED_PK, "sk": "DELIVERY#old", "starts": 1,
                               "version": 1, "dead": None}, must_not_exist=True)])
    starts = [(table, "DELIVERY#a"), (table, "DELIVERY#b"), (table, "DELIVERY#a"),
              (table, "DELIVERY#old")]
    counted, unread = (True, None), (False, None)
    old = table.get(APPLIED_PK, "DELIVERY#old")
    assert guard._count_first_starts(starts) == [  # type: ignore[arg-type]
        counted, counted, unread, (True, old)]  # the copy reads its record itself
    [(writes, durable)] = table.transactions
    assert not durable
    assert [w.item["sk"] for w in writes] == ["DELIVERY#a", "DELIVERY#b"]  # type: ignore[union-attr]
    assert table.get(APPLIED_PK, "DELIVERY#a")["starts"] == 1
