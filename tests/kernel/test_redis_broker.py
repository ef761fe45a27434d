"""A message reserved by a fetch whose reply was lost comes back to the queue (Redis)."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator

import dramatiq
import pytest
import redis
from dramatiq.errors import ConnectionClosed

from shared.redis_broker import ResilientRedisBroker

# The run's own database (nothing else of a run uses it): flushing it touches nobody else.
URL = os.environ.get("ATENDE_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
QUEUE = "stranded"


@pytest.fixture
def broker() -> Iterator[ResilientRedisBroker]:
    b = ResilientRedisBroker(url=URL, namespace="atende-test-stranded")
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
