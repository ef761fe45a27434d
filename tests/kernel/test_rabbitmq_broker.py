"""An ack for a message of an earlier channel never settles what the new channel delivered
under the same tag (RabbitMQ)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from typing import Any

import dramatiq
import pika
import pytest

from shared.rabbitmq_broker import TagSafeRabbitmqBroker
from tests.helpers import AMQP_URL


@pytest.fixture
def queue() -> Iterator[str]:
    name = f"atende-test-tags-{uuid.uuid4().hex[:8]}"
    yield name
    conn = pika.BlockingConnection(pika.URLParameters(AMQP_URL))
    for suffix in ("", ".DQ", ".XQ"):
        conn.channel().queue_delete(name + suffix)
    conn.close()


def _next(consumer: Any) -> Any:
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        if (got := next(consumer)) is not None:
            return got
    raise AssertionError("nothing delivered")


def _take(queue: str) -> str | None:
    """One ready message's id, settled, or None if the queue holds none."""
    conn = pika.BlockingConnection(pika.URLParameters(AMQP_URL))
    _, _, body = conn.channel().basic_get(queue, auto_ack=True)
    conn.close()
    return dramatiq.Message.decode(body).message_id if body else None


def test_an_ack_from_an_earlier_channel_leaves_the_new_delivery_alone(queue: str) -> None:
    broker = TagSafeRabbitmqBroker(url=AMQP_URL, confirm_delivery=True)

    @dramatiq.actor(broker=broker, queue_name=queue)
    def job(n: int) -> None: ...

    first = job.send(1)
    old_consumer = broker.consume(queue, prefetch=1, timeout=100)
    old = _next(old_consumer)  # handed to a worker thread, which is still running it...
    old_consumer.close()  # ...when the connection breaks: RabbitMQ takes the message back
    assert _take(queue) == first.message_id  # another worker runs it and acks it

    second = job.send(2)
    consumer = broker.consume(queue, prefetch=1, timeout=100)
    new = _next(consumer)
    assert new.message_id == second.message_id and new._tag == old._tag
    consumer.ack(old)  # the first message's run ends: its ack reaches the new consumer
    consumer.connection.process_data_events(time_limit=0.2)
    consumer.close()  # this process dies before running the second message
    assert _take(queue) == second.message_id  # so it must still be there

    job.send(3)
    again = broker.consume(queue, prefetch=1, timeout=100)
    latest = _next(again)
    again.ack(latest)  # an ack for a message of this channel still settles it
    again.connection.process_data_events(time_limit=0.2)
    again.close()
    assert _take(queue) is None
    broker.close()
