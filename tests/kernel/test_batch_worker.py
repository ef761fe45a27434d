"""The event queues' consumer threads apply the deliveries they hold as batches, in their
own thread (``shared.batch_worker``), on RabbitMQ's quorum queues and on Redis: each event
once, each effect in its own message's context, a redelivery (or, on Redis, a message the
crash guard has a record of) left to a worker thread alone, a failing event retried and
dead-lettered without holding up the others."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import dramatiq
import pika
import pytest
import redis
from dramatiq.worker import WorkerThread

from shared.batch_worker import BatchConsumerThread, BatchingWorker
from shared.broker import Correlation, declare_consumer
from shared.clock import FrozenClock
from shared.consumer import APPLIED_PK, EventConsumer
from shared.crash_guard import CrashGuard, _delivery_key, _RunLock
from shared.logs import correlation_id
from shared.messages import Event, FollowupPosted, Party
from shared.outbox import UnitOfWork
from shared.rabbitmq_broker import TagSafeRabbitmqBroker
from shared.redis_broker import ResilientRedisBroker
from shared.settings import Settings
from shared.tables import Put, Table
from shared.topology import Topology, actor_of, queue_of
from tests.helpers import AMQP_URL, SHARED_SERVERS, redis_db
from tests.kernel.test_group_commit import Recording


def _wait_until(check: Callable[[], bool], seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("not reached in time")
        time.sleep(0.02)


def test_a_thread_holding_a_shared_run_takes_another_though_a_suspect_waits() -> None:
    """A batch's thread holds one shared run per message: a suspect that begins to wait
    between two of them must not stall the thread, which would never release the first."""
    lock = _RunLock()
    held, again, suspect_ran, others_ran = (threading.Event() for _ in range(4))

    def batch() -> None:
        lock.acquire(False)
        held.set()
        _wait_until(lambda: lock._waiting == 1)  # the suspect waits now
        lock.acquire(False)
        again.set()
        lock.release(False)
        lock.release(False)

    def suspect() -> None:
        lock.acquire(True)
        suspect_ran.set()
        lock.release(True)

    def other() -> None:  # another thread still waits behind the suspect, as before
        lock.acquire(False)
        others_ran.set()
        lock.release(False)

    threads = [threading.Thread(target=batch, daemon=True)]
    threads[0].start()
    assert held.wait(5)
    threads.append(threading.Thread(target=suspect, daemon=True))
    threads[1].start()
    _wait_until(lambda: lock._waiting == 1)
    threads.append(threading.Thread(target=other, daemon=True))
    threads[2].start()
    assert again.wait(5)
    assert suspect_ran.wait(5) and others_ran.wait(5)
    for t in threads:
        t.join(5)
    assert lock._shared == 0


BATCH_REDIS = redis_db(12)  # this module's own database, flushed


@pytest.fixture
def service() -> Iterator[str]:
    name = f"tbatch{uuid.uuid4().hex[:8]}"
    redis.Redis.from_url(BATCH_REDIS).flushdb()
    yield name
    conn = pika.BlockingConnection(pika.URLParameters(AMQP_URL))
    for suffix in ("", ".DQ", ".XQ"):
        conn.channel().queue_delete(queue_of(name) + suffix)
    conn.close()
    redis.Redis.from_url(BATCH_REDIS).flushdb()


def _dead(kind: str, queue: str) -> int:
    """How many messages the queue has dead-lettered."""
    if kind == "redis":
        return int(redis.Redis.from_url(BATCH_REDIS).zcard(f"dramatiq:{queue}.XQ"))
    conn = pika.BlockingConnection(pika.URLParameters(AMQP_URL))
    n = int(conn.channel().queue_declare(f"{queue}.XQ", passive=True).method.message_count)
    conn.close()
    return n


def _event(rid: str) -> FollowupPosted:
    return FollowupPosted(request_id=rid, followup_id=f"f-{rid}",
                          author=Party(sub="a1", name="Ana"), author_role="attendant")


def _handed_out_before(kind: str, queue: str, table: Table, message: Any) -> None:
    """One message was handed out once before (a worker died holding it): RabbitMQ's
    quorum queue says so itself; on Redis, the crash guard's count of its start stays."""
    if kind == "redis":
        table.transact([Put({"pk": APPLIED_PK, "sk": _delivery_key(message), "starts": 1,
                             "version": 1, "dead": None})])
        return
    conn = pika.BlockingConnection(pika.URLParameters(AMQP_URL))
    conn.channel().basic_get(queue, auto_ack=False)
    conn.close()


@SHARED_SERVERS
@pytest.mark.parametrize("kind", ["rabbitmq", "redis"])
def test_deliveries_are_applied_in_batches_by_their_consumer_thread(
        kind: str, service: str, tmp_path: Path) -> None:
    table = Recording(tmp_path / "t.db")
    rids = [f"r{n}" for n in range(40)]
    table.transact([Put({"pk": f"REQ#{r}", "sk": "REQ", "version": 1, "seen": []})
                    for r in [*rids, "r-poison"]])
    ran: dict[str, tuple[str | None, threading.Thread]] = {}  # event id -> (corr, thread)

    def effect(uow: UnitOfWork, e: Event) -> None:
        ran[e.id] = (correlation_id.get(), threading.current_thread())
        if e.request_id == "r-poison":
            raise ValueError("cannot apply")
        req = uow.get(f"REQ#{e.request_id}", "REQ")
        assert req is not None
        uow.save({**req, "seen": [*req["seen"], e.id], "version": req["version"] + 1})

    broker: dramatiq.Broker = (
        ResilientRedisBroker(url=BATCH_REDIS) if kind == "redis"
        else TagSafeRabbitmqBroker(url=AMQP_URL, confirm_delivery=True))
    broker.add_middleware(Correlation())
    queue = queue_of(service)
    guard = CrashGuard({queue: table})
    broker.add_middleware(guard)
    consumer = EventConsumer(service, frozenset({"FollowupPosted"}),
                             lambda: UnitOfWork(table, None, FrozenClock(), Topology()),
                             effect, reads=lambda e: [(f"REQ#{e.request_id}", "REQ")])
    settings = Settings(max_retries=1, min_backoff_ms=10, max_backoff_ms=20)
    declare_consumer(broker, service, consumer, settings)
    # Ten requests with two events each: a batch leaves the second to be applied alone.
    events = [_event(r) for r in [*rids, *rids[:10], "r-poison"]]
    sent = [broker.enqueue(dramatiq.Message(
        queue_name=queue, actor_name=actor_of(service), args=(e.model_dump(mode="json"),),
        kwargs={}, options={"correlation_id": f"corr-{n}"})) for n, e in enumerate(events)]
    _handed_out_before(kind, queue, table, sent[0])
    table.transactions.clear()

    worker = BatchingWorker(broker, worker_threads=2, worker_timeout=50)
    worker.start()
    try:
        _wait_until(lambda: len(ran) == len(events) and _dead(kind, queue) == 1)
    finally:
        worker.stop()
        broker.close()

    for e in events[:-1]:  # each applied once
        seen = table.get(f"REQ#{e.request_id}", "REQ")["seen"]  # type: ignore[index]
        assert seen.count(e.id) == 1
        assert table.get(APPLIED_PK, f"{service}#{e.id}") is not None
    assert table.get("REQ#r-poison", "REQ")["seen"] == []  # type: ignore[index]
    # Batches: one transaction applied several deliveries at once.
    markers = [sum(1 for w in t if isinstance(w, Put) and w.item["pk"] == APPLIED_PK
                   and w.item["sk"].startswith(service)) for t in table.transactions]
    assert max(markers) > 1
    # Each effect in its own message's context; the redelivered one in a worker thread.
    assert {ran[e.id][0] for e in events} == {f"corr-{n}" for n in range(len(events))}
    places = [type(thread) for _, thread in ran.values()]
    assert places.count(WorkerThread) == 1
    assert places.count(BatchConsumerThread) == len(events) - 1
    assert guard.lock._shared == 0  # every run's hold released
    # No count of a start is left behind (the poison's, dead-lettered, is cleared too).
    assert [i for i in table.query(APPLIED_PK, limit=1000).items
            if i["sk"].startswith("DELIVERY#")] == []


def test_a_settle_lost_with_the_connection_does_not_hold_the_consumer_thread(
        caplog: pytest.LogCaptureFixture) -> None:
    """Dramatiq's settle waits for the consumer thread to connect again; from that very
    thread it would wait forever. The message goes back to the queue with its channel."""
    from queue import PriorityQueue

    from dramatiq.brokers.stub import StubBroker
    from dramatiq.errors import ConnectionClosed

    class Lost:
        def ack(self, message: Any) -> None:
            raise ConnectionClosed(OSError("gone"))

    thread = BatchConsumerThread(broker=StubBroker(), queue_name="q", prefetch=1,
                                 work_queue=PriorityQueue(), worker_timeout=10)
    thread.consumer = Lost()  # type: ignore[assignment]
    message = dramatiq.broker.MessageProxy(dramatiq.Message(
        queue_name="q", actor_name="a", args=(), kwargs={}, options={}))
    thread.run = lambda: thread.post_process_message(message)  # type: ignore[method-assign]
    thread.start()
    thread.join(5)
    assert not thread.is_alive()
    assert "settle lost with the connection" in caplog.text
