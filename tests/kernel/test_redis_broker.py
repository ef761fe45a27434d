"""A message reserved by a fetch whose reply was lost comes back to the queue (Redis)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import dramatiq
import pytest
import redis
from dramatiq.errors import ConnectionClosed

from shared.redis_broker import ResilientRedisBroker
from tests.helpers import REDIS_URL, redis_db

# A database of these tests' own on the test server (each test a namespace in it): the
# shared one (REDIS_URL) is the other tests'.
OWN_URL = redis_db(11)
QUEUE = "stranded"


@pytest.fixture
def broker() -> Iterator[ResilientRedisBroker]:
    b = ResilientRedisBroker(url=REDIS_URL, namespace="atende-test-stranded")
    b.client.flushdb()
    b.heartbeat_timeout = 300  # ms: the test waits this out instead of a minute
    b.maintenance_chance = 1_000_000
    yield b
    b.client.flushdb()
    b.close()


def test_reserved_message_of_a_lost_reply_is_fetched_again(
        broker: ResilientRedisBroker, monkeypatch: pytest.MonkeyPatch) -> None:
    @dramatiq.actor(broker=broker, queue_name=QUEUE)
    def job() -> None: ...

    sent = job.send()
    consumer = broker.consume(QUEUE, prefetch=1, timeout=100)
    real_fetch = broker.do_fetch

    def fetch_then_drop(queue: str, n: int) -> list[bytes]:
        real_fetch(queue, n)  # the server reserves the message for this process...
        raise redis.ConnectionError("reply lost")  # ...whose worker never sees it

    monkeypatch.setattr(broker, "do_fetch", fetch_then_drop)
    first_id = broker.broker_id
    with pytest.raises(ConnectionClosed):
        next(consumer)
    assert broker.broker_id != first_id
    monkeypatch.setattr(broker, "do_fetch", real_fetch)

    got = None
    deadline = time.monotonic() + 5
    while got is None and time.monotonic() < deadline:
        time.sleep(0.1)
        got = next(consumer)  # the old identity is dead: maintenance requeues its hold
    assert got is not None and got.message_id == sent.message_id


def test_messages_enqueued_together_are_each_fetched_from_their_queue() -> None:
    """``enqueue_many`` (an event to each of its consumers in one round trip) leaves each
    message where ``enqueue`` would, options and all."""
    b = ResilientRedisBroker(url=OWN_URL,
                             namespace="atende-test-many")
    try:
        for queue in ("many-a", "many-b"):
            b.declare_queue(queue)
            b.flush(queue)
        sent = b.enqueue_many([
            dramatiq.Message(queue_name=queue, actor_name="x", args=({"n": n},), kwargs={},
                             options={"outbox": ["t", "k", queue]})
            for n, queue in enumerate(("many-a", "many-b"))])
        for n, queue in enumerate(("many-a", "many-b")):
            consumer = b.consume(queue, prefetch=1, timeout=100)
            got = next(consumer)
            assert got is not None and got.message_id == sent[n].message_id
            assert got.args == ({"n": n},) and got.options["outbox"] == ["t", "k", queue]
            consumer.ack(got)
            consumer.close()
    finally:
        for queue in ("many-a", "many-b"):
            b.flush(queue)
        b.close()


class _Seen(dramatiq.Middleware):
    def __init__(self) -> None:
        self.seen: list[tuple[str, str, str]] = []

    def before_enqueue(self, broker: dramatiq.Broker, message: dramatiq.Message[object],
                       delay: int | None) -> None:
        self.seen.append(("before", message.message_id, message.options["redis_message_id"]))

    def after_enqueue(self, broker: dramatiq.Broker, message: dramatiq.Message[object],
                      delay: int | None) -> None:
        self.seen.append(("after", message.message_id, message.options["redis_message_id"]))


def test_a_middleware_that_acts_on_enqueueing_sees_each_message_enqueued_together() -> None:
    """Only middleware that act on enqueueing are told of it (of the worker's, none): one
    added later is, before and after, with the message as ``enqueue`` gives it."""
    b = ResilientRedisBroker(url=OWN_URL, namespace="atende-test-many-hooks")
    try:
        b.declare_queue("many-a")
        b.flush("many-a")
        b.enqueue_many([dramatiq.Message(queue_name="many-a", actor_name="x", args=(0,),
                                         kwargs={}, options={})])
        seen = _Seen()
        b.add_middleware(seen)
        sent = b.enqueue_many([dramatiq.Message(queue_name="many-a", actor_name="x",
                                                args=(n,), kwargs={}, options={})
                               for n in (1, 2)])
        ids = [(m.message_id, m.options["redis_message_id"]) for m in sent]
        assert seen.seen == [("before", *ids[0]), ("before", *ids[1]),
                             ("after", *ids[0]), ("after", *ids[1])]
        consumer = b.consume("many-a", prefetch=3, timeout=100)
        got = [next(consumer) for _ in range(3)]
        assert [g.args for g in got if g is not None] == [(0,), (1,), (2,)]
        assert [g.options["redis_message_id"] for g in got[1:] if g is not None] == [
            rid for _, rid in ids]
        consumer.close()
    finally:
        b.flush("many-a")
        b.close()


def test_a_server_that_lost_the_script_still_gets_the_messages() -> None:
    b = ResilientRedisBroker(url=OWN_URL,
                             namespace="atende-test-many-noscript")
    try:
        b.declare_queue("many-a")
        b.flush("many-a")
        # As after a restart of the server (SCRIPT FLUSH would be every client's loss).
        b.scripts["dispatch"].sha = "0" * 40
        b.enqueue_many([dramatiq.Message(queue_name="many-a", actor_name="x", args=(n,),
                                         kwargs={}, options={}) for n in range(2)])
        assert b.client.llen("atende-test-many-noscript:many-a") == 2
    finally:
        b.flush("many-a")
        b.close()


def test_the_reading_threads_acks_go_together_at_its_next_read(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A thread that applies what it reads (shared.batch_worker) acks a batch in one round
    trip, made before its next read; another thread's ack goes at once."""
    broker = ResilientRedisBroker(url=OWN_URL, namespace="atende-test-acks")
    queue = "acks"

    @dramatiq.actor(broker=broker, queue_name=queue)
    def job() -> None: ...

    broker.flush(queue)
    try:
        for _ in range(4):
            job.send()
        consumer = broker.consume(queue, prefetch=4, timeout=100)
        got = []
        deadline = time.monotonic() + 5
        while len(got) < 4 and time.monotonic() < deadline:
            if (m := next(consumer)) is not None:
                got.append(m)
        held = f"atende-test-acks:__acks__.{broker.broker_id}.{queue}"
        assert broker.client.scard(held) == 4
        sends = []
        real_send = broker._send_packed
        monkeypatch.setattr(broker, "_send_packed",
                            lambda request, n: sends.append(n) or real_send(request, n))
        for m in got[:3]:
            consumer.ack(m)
        assert broker.client.scard(held) == 4  # not yet: they wait for the next read
        assert next(consumer) is None  # the queue is empty now
        assert (sends, broker.client.scard(held)) == ([3], 1)
        other = threading.Thread(target=consumer.ack, args=(got[3],))
        other.start()
        other.join(5)
        assert broker.client.scard(held) == 0  # at once, as Dramatiq acks it
        assert sends == [3]
    finally:
        broker.flush(queue)
        broker.close()
