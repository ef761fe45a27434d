"""RabbitMQ's event queues: new ones are quorum queues, whose broker counts deliveries, so
the crash guard leaves a first delivery alone (no read, no write) and guards redeliveries
only; an existing classic queue is kept, every delivery guarded, until `atende ops queues
--migrate` moves it."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dramatiq
import pika
import pytest
from dramatiq.brokers.rabbitmq import RabbitmqBroker

from infra.ops import queues as ops_queues
from infra.process import OperatorError
from shared.consumer import APPLIED_PK, DELIVERY_PREFIX
from shared.crash_guard import CRASH_LIMIT, CrashGuard
from shared.rabbitmq_broker import (
    DELIVERY_LIMIT,
    PRECONDITION_FAILED,
    TagSafeRabbitmqBroker,
    quorum_arguments,
)
from shared.settings import Settings
from shared.tables.sqlite import SQLiteDatabase
from tests.helpers import AMQP_URL
from tests.kernel.test_rabbitmq_broker import _next
from tests.live import eventually


def _delete(*names: str) -> None:
    conn = pika.BlockingConnection(pika.URLParameters(AMQP_URL))
    for name in names:
        for suffix in ("", ".DQ", ".XQ", ops_queues.HOLDING):
            conn.channel().queue_delete(name + suffix)
    conn.close()


@pytest.fixture
def queue() -> Iterator[str]:
    name = f"atende-test-q-{uuid.uuid4().hex[:8]}"
    yield name
    _delete(name)


def _is_quorum(queue: str) -> bool:
    """A quorum declaration of a classic queue is refused."""
    conn = pika.BlockingConnection(pika.URLParameters(AMQP_URL))
    try:
        conn.channel().queue_declare(queue, durable=True, arguments=quorum_arguments(queue))
        return True
    except pika.exceptions.ChannelClosedByBroker as exc:
        assert exc.reply_code == PRECONDITION_FAILED
        return False
    finally:
        if conn.is_open:
            conn.close()


def _count(queue: str) -> int:
    conn = pika.BlockingConnection(pika.URLParameters(AMQP_URL))
    n = int(conn.channel().queue_declare(queue, passive=True).method.message_count)
    conn.close()
    return n


class CountingTable:
    """A table whose reads and write transactions are counted."""

    def __init__(self, table: Any) -> None:
        self.table, self.name, self.calls, self.reads = table, table.name, 0, 0

    def get(self, pk: str, sk: str) -> Any:
        self.reads += 1
        return self.table.get(pk, sk)

    def get_many(self, keys: Any) -> Any:
        self.reads += 1
        return self.table.get_many(keys)

    def transact(self, writes: Any, *, durable: bool = True) -> None:
        self.calls += 1
        self.table.transact(writes, durable=durable)


def test_a_new_queue_is_a_quorum_queue_whose_deliveries_the_broker_counts(queue: str
                                                                          ) -> None:
    broker = TagSafeRabbitmqBroker(url=AMQP_URL, confirm_delivery=True)
    broker.declare_queue(queue, ensure=True)
    assert broker.counts_deliveries(queue) and broker.counts_deliveries(queue + ".DQ")
    assert _is_quorum(queue)
    broker.close()


def test_an_existing_classic_queue_is_kept_and_named_in_one_log_line(
        queue: str, caplog: pytest.LogCaptureFixture) -> None:
    before = RabbitmqBroker(url=AMQP_URL, confirm_delivery=True)  # a deployment of before
    before.declare_queue(queue, ensure=True)
    before.close()
    broker = TagSafeRabbitmqBroker(url=AMQP_URL, confirm_delivery=True)

    @dramatiq.actor(broker=broker, queue_name=queue)
    def job(n: int) -> None: ...

    with caplog.at_level(logging.WARNING, logger="atende.broker"):
        sent = job.send(1)  # declares it, and publishes on the same broker afterwards
    assert not broker.counts_deliveries(queue) and not _is_quorum(queue)
    lines = [r for r in caplog.records if "classic queue" in r.getMessage()]
    assert len(lines) == 1 and "atende ops queues --migrate" in lines[0].getMessage()
    consumer = broker.consume(queue, prefetch=1, timeout=100)
    assert _next(consumer).message_id == sent.message_id
    consumer.close()
    broker.close()


def _returned(queue: str) -> str:
    """Where RabbitMQ put the message a closed consumer held: back in the queue, or
    dead-lettered into its ".XQ" (the return is settled after the close)."""
    return eventually(lambda: "queue" if _count(queue) else
                      "dead" if _count(queue + ".XQ") else None, timeout=10)


def _declare(kind: str, queue: str) -> TagSafeRabbitmqBroker:
    if kind == "classic":  # as a deployment of before declared it
        RabbitmqBroker(url=AMQP_URL).declare_queue(queue, ensure=True)
    return TagSafeRabbitmqBroker(url=AMQP_URL, confirm_delivery=True)


def _crash_until_dead_lettered(broker: TagSafeRabbitmqBroker, queue: str, table: Any, *,
                               guarded: bool = True) -> tuple[int, list[tuple[int, int]]]:
    """Run the message as a worker would, each run "killed" (its connection closed without
    a settlement, a fresh guard each time as in a new process), until the guard fails it
    or the broker dead-letters it; (crashes, the guard's (reads, write transactions)
    before each run)."""
    crashes, io = 0, []
    while crashes <= DELIVERY_LIMIT + 1:
        guard = CrashGuard({queue: table})
        consumer = broker.consume(queue, prefetch=1, timeout=100)
        message = _next(consumer)
        before = table.reads, table.calls
        if guarded:
            guard.before_process_message(broker, message)
        io.append((table.reads - before[0], table.calls - before[1]))
        if message.failed:
            consumer.nack(message)  # what the worker does with a failed message
            consumer.connection.process_data_events(time_limit=0.2)
            consumer.close()
            return crashes, io
        consumer.close()  # the process dies: RabbitMQ takes the message back
        crashes += 1
        if _returned(queue) == "dead":
            return crashes, io
    raise AssertionError("never dead-lettered")


@pytest.mark.parametrize("kind", ["quorum", "classic"])
def test_a_message_that_kills_its_worker_is_dead_lettered(queue: str, tmp_path: Path,
                                                          kind: str) -> None:
    table = CountingTable(SQLiteDatabase(tmp_path / "t.db").table("requests"))
    broker = _declare(kind, queue)

    @dramatiq.actor(broker=broker, queue_name=queue)
    def job(n: int) -> None: ...

    sent = job.send(1)
    assert broker.counts_deliveries(queue) == (kind == "quorum")
    crashes, io = _crash_until_dead_lettered(broker, queue, table)
    assert crashes == CRASH_LIMIT
    # On a quorum queue the first delivery costs the table nothing; a redelivery is counted
    # (one read, one write), as every delivery is on a classic queue.
    assert io[0] == ((0, 0) if kind == "quorum" else (1, 1))
    assert all(x == (1, 1) for x in io[1:])
    assert _count(queue + ".XQ") == 1 and _count(queue) == 0
    record = table.table.get(APPLIED_PK, f"{DELIVERY_PREFIX}{sent.message_id}")
    assert record is not None and record["dead"] == sent.message_id
    broker.close()


def test_a_quorum_queue_dead_letters_alone_what_came_back_more_than_its_limit(
        queue: str, tmp_path: Path) -> None:
    """Behind the guard (its table out of reach at every start, say), the queue's own
    delivery limit: returned more than DELIVERY_LIMIT times, the message is dead-lettered."""
    table = CountingTable(SQLiteDatabase(tmp_path / "t.db").table("requests"))
    broker = _declare("quorum", queue)

    @dramatiq.actor(broker=broker, queue_name=queue)
    def job(n: int) -> None: ...

    job.send(1)
    crashes, _ = _crash_until_dead_lettered(broker, queue, table, guarded=False)
    assert crashes == DELIVERY_LIMIT + 1
    assert _count(queue + ".XQ") == 1 and _count(queue) == 0
    broker.close()


def test_a_first_delivery_on_a_quorum_queue_costs_the_table_nothing(queue: str,
                                                                    tmp_path: Path) -> None:
    table = CountingTable(SQLiteDatabase(tmp_path / "t.db").table("requests"))
    broker = _declare("quorum", queue)

    @dramatiq.actor(broker=broker, queue_name=queue)
    def job(n: int) -> None: ...

    job.send(1)
    guard = CrashGuard({queue: table})
    consumer = broker.consume(queue, prefetch=1, timeout=100)
    message = _next(consumer)
    guard.before_process_message(broker, message)
    guard.after_process_message(broker, message)
    consumer.close()
    assert table.calls == 0 and table.reads == 0
    took = guard.lock.acquire(True)  # the run's shared hold was released
    guard.lock.release(True)
    assert took is None
    broker.close()


def test_messages_returned_with_a_poison_one_are_not_dead_lettered_with_it(
        queue: str, tmp_path: Path) -> None:
    """A worker dies under a poison message and RabbitMQ takes back everything it held,
    charging each message a delivery. Redelivered, each is a suspect, run alone (here:
    one after the other, each settled before the next): the poison is dead-lettered after
    CRASH_LIMIT deaths, long before the broker's limit would take the others with it."""
    table = CountingTable(SQLiteDatabase(tmp_path / "t.db").table("requests"))
    broker = _declare("quorum", queue)

    @dramatiq.actor(broker=broker, queue_name=queue)
    def job(n: int) -> None: ...

    poison = job.send(0).message_id
    innocent = {job.send(n).message_id for n in (1, 2)}
    crashes, ran, dead = 0, set(), False
    while (ran != innocent or not dead) and crashes <= DELIVERY_LIMIT + 1:
        guard = CrashGuard({queue: table})
        consumer = broker.consume(queue, prefetch=3, timeout=100)
        for _ in range(3 - len(ran) - dead):
            message = _next(consumer)
            guard.before_process_message(broker, message)
            if message.failed:
                consumer.nack(message)
                dead = True
            elif message.message_id == poison:
                crashes += 1  # the process dies: RabbitMQ takes back what it held
                break
            else:
                guard.after_process_message(broker, message)
                consumer.ack(message)
                ran.add(message.message_id)
        consumer.connection.process_data_events(time_limit=0.2)
        consumer.close()
    assert ran == innocent and crashes == CRASH_LIMIT
    assert _count(queue + ".XQ") == 1 and _count(queue) == 0
    broker.close()


def test_migrate_moves_a_classic_queue_and_its_messages_to_a_quorum_queue(queue: str
                                                                          ) -> None:
    old = RabbitmqBroker(url=AMQP_URL, confirm_delivery=True)

    @dramatiq.actor(broker=old, queue_name=queue)
    def job(n: int) -> None: ...

    sent = {job.send(n).message_id for n in range(3)}
    old.close()
    settings = Settings(broker_url=AMQP_URL)
    ops = _OneQueue(queue)
    assert ops.states(settings) == {queue: "classic"}
    consumer = TagSafeRabbitmqBroker(url=AMQP_URL).consume(queue, prefetch=1, timeout=100)
    _next(consumer)  # attached (pika subscribes on the first read)
    with pytest.raises(OperatorError, match="consumer"):  # a worker is still attached
        ops.migrate(settings)
    consumer.close()
    moved = ops.migrate(settings)
    assert moved == {queue: 3} and ops.states(settings) == {queue: "quorum"}
    assert _is_quorum(queue) and _count(queue) == 3
    broker = TagSafeRabbitmqBroker(url=AMQP_URL)
    broker.declare_queue(queue, ensure=True)
    assert broker.counts_deliveries(queue)
    consumer = broker.consume(queue, prefetch=3, timeout=100)
    assert {_next(consumer).message_id for _ in range(3)} == sent
    consumer.close()
    broker.close()
    assert ops.migrate(settings) == {queue: 0}  # nothing left to move: a no-op


class _OneQueue:
    """The ops job on one test queue instead of the services' queues."""

    def __init__(self, queue: str) -> None:
        self.queue = queue

    def _patched(self, fn: Any, settings: Settings) -> Any:
        mp = pytest.MonkeyPatch()
        mp.setattr(ops_queues, "queues", lambda: [(self.queue, "svc")])
        try:
            return fn(settings)
        finally:
            mp.undo()

    def states(self, settings: Settings) -> dict[str, str]:
        return {s.queue: s.kind for s in self._patched(ops_queues.queue_states, settings)}

    def migrate(self, settings: Settings) -> dict[str, int]:
        return {s.queue: s.moved for s in self._patched(ops_queues.migrate, settings)}


@pytest.mark.parametrize("kind", ["quorum", "classic"])
def test_a_copy_of_an_entry_already_dead_is_dead_lettered(queue: str, tmp_path: Path,
                                                           kind: str) -> None:
    """Another copy of the same outbox entry (a relay's resend) that killed workers: on a
    classic queue, its first delivery is checked against the entry's count and failed at
    once; on a quorum queue it runs unchecked (one more death, the accepted trade), and
    its redelivery is failed at once."""
    table = CountingTable(SQLiteDatabase(tmp_path / "t.db").table("requests"))
    broker = _declare(kind, queue)

    @dramatiq.actor(broker=broker, queue_name=queue)
    def job(n: int) -> None: ...

    ref = ["requests", "2026-01-01#ev#requests"]
    job.send_with_options(args=(1,), outbox=ref)
    crashes, _ = _crash_until_dead_lettered(broker, queue, table)
    assert crashes == CRASH_LIMIT
    job.send_with_options(args=(1,), outbox=ref)  # the resend: a new message
    crashes, io = _crash_until_dead_lettered(broker, queue, table)
    assert crashes == (1 if kind == "quorum" else 0)
    assert io[0][1] == 0  # failed without a write
    assert _count(queue + ".XQ") == 2
    broker.close()


@pytest.mark.parametrize("kind", ["quorum", "classic"])
def test_two_copies_of_an_entry_that_kill_workers_count_together(
        queue: str, tmp_path: Path, kind: str) -> None:
    """Two messages for one outbox entry (a relay killed between sending and settling it,
    then a resend), each killing workers, their counts in one record: the entry takes down
    workers CRASH_LIMIT times in all, and on a quorum queue at most once more for each
    copy's first, unwritten, run beyond the first."""
    table = CountingTable(SQLiteDatabase(tmp_path / "t.db").table("requests"))
    broker = _declare(kind, queue)

    @dramatiq.actor(broker=broker, queue_name=queue)
    def job(n: int) -> None: ...

    ref = ["requests", "2026-01-01#ev#requests"]
    copies = {job.send_with_options(args=(n,), outbox=ref).message_id for n in range(2)}
    crashes, dead = 0, set()
    while dead != copies and crashes <= 2 * CRASH_LIMIT:
        guard = CrashGuard({queue: table})
        consumer = broker.consume(queue, prefetch=1, timeout=100)
        message = _next(consumer)
        guard.before_process_message(broker, message)
        if message.failed:
            dead.add(message.message_id)
            consumer.nack(message)
            consumer.connection.process_data_events(time_limit=0.2)
        else:
            crashes += 1  # the process dies: RabbitMQ takes the message back
        consumer.close()
    # On a quorum queue the second copy's first run is unwritten, one death more, unless
    # the broker had handed it out already (prefetched as the first copy was rejected).
    assert dead == copies
    assert crashes in ((CRASH_LIMIT, CRASH_LIMIT + 1) if kind == "quorum" else (CRASH_LIMIT,))
    assert _count(queue + ".XQ") == 2
    broker.close()
