"""The crash guard's run lock with two deliveries of one message at once: RabbitMQ hands a
message again to a reconnected consumer while the first run still goes on in the same
worker process. Each run must release exactly what it took."""

from __future__ import annotations

import threading
from pathlib import Path

from dramatiq import Message
from dramatiq.broker import MessageProxy
from dramatiq.brokers.stub import StubBroker

from shared.crash_guard import CrashGuard
from shared.tables.sqlite import SQLiteDatabase


def _delivery(message_id: str = "same-id") -> MessageProxy:
    return MessageProxy(Message(queue_name="requests-events", actor_name="a", args=(),
                                kwargs={}, options={}, message_id=message_id))


def test_two_runs_of_one_message_id_each_release_their_hold(tmp_path: Path) -> None:
    table = SQLiteDatabase(tmp_path / "t.db").table("requests")
    guard = CrashGuard({"requests-events": table})
    # Both deliveries read the count before either writes it: neither is a suspect, both
    # run side by side.
    both_read = threading.Barrier(2)
    real_get = table.get

    reads = iter(range(2))

    def get(pk: str, sk: str) -> object:
        item = real_get(pk, sk)
        if next(reads, None) is not None:  # only the two first reads meet
            both_read.wait(5)
        return item

    table.get = get  # type: ignore[method-assign]
    # The one-by-one path, where each run reads its own count: the batch of first starts
    # reads them together (the test below).
    guard._first_start = lambda table, sk: (False, None)  # type: ignore[method-assign]
    _run_both(guard)


def test_two_first_starts_of_one_message_id_at_once_each_release_their_hold(
        tmp_path: Path) -> None:
    """The same, through the batch of first starts: one copy is counted there, the other
    finds its count and goes the one-by-one way (a suspect, run alone after the first)."""
    table = SQLiteDatabase(tmp_path / "t.db").table("requests")
    for n in range(10):
        guard = CrashGuard({"requests-events": table})
        _run_both(guard, f"id-{n}")


def _run_both(guard: CrashGuard, message_id: str = "same-id") -> None:
    broker = StubBroker()
    errors: list[BaseException] = []

    def run(message: MessageProxy) -> None:
        try:
            guard.before_process_message(broker, message)
            guard.after_process_message(broker, message)
        except BaseException as exc:  # surfaced below, not lost in the thread
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(_delivery(message_id),)) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert errors == []
    # A suspect (a message found running when its worker died) waits for every hold to be
    # released; a hold leaked by the duplicate would stall it, and every message after it.
    took = threading.Event()
    waiter = threading.Thread(target=lambda: (guard.lock.acquire(True), took.set()),
                              daemon=True)
    waiter.start()
    assert took.wait(2), "a hold was never released: the worker would stall"
    guard.lock.release(True)
