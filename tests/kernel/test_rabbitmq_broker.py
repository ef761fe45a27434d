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


def _settled(consumer: Any) -> None:
    """Let the consumer's thread (here, this one) run what waits: its settles."""
    assert next(consumer) is None


def _delivered(queue: str, n: int) -> tuple[TagSafeRabbitmqBroker, Any, list[Any]]:
    """``n`` messages sent to ``queue`` and delivered to one consumer, none settled."""
    broker = TagSafeRabbitmqBroker(url=AMQP_URL, confirm_delivery=True)

    @dramatiq.actor(broker=broker, queue_name=queue)
    def job(n: int) -> None: ...

    for k in range(n):
        job.send(k)
    consumer = broker.consume(queue, prefetch=n, timeout=100)
    return broker, consumer, [_next(consumer) for _ in range(n)]


def _count(queue: str) -> int:
    conn = pika.BlockingConnection(pika.URLParameters(AMQP_URL))
    n = conn.channel().queue_declare(queue, passive=True).method.message_count
    conn.close()
    return n


def test_settles_that_wait_together_go_as_one_ack_below_the_oldest_still_running(
        queue: str) -> None:
    """Acks made while none was flushed are sent together: the run below the oldest
    message still being run as one ``multiple`` ack, the rest one by one, rejections
    first. Only the acked are gone: the running one stays, the rejected one is
    dead-lettered."""
    broker, consumer, got = _delivered(queue, 8)
    sent: list[tuple[str, int, bool]] = []
    ack, nack = consumer.channel.basic_ack, consumer.channel.basic_nack

    def spy_ack(tag: int, multiple: bool = False) -> None:
        sent.append(("ack", tag, multiple))
        ack(tag, multiple=multiple)

    def spy_nack(tag: int, multiple: bool = False, requeue: bool = True) -> None:
        sent.append(("nack", tag, multiple))
        nack(tag, multiple=multiple, requeue=requeue)

    consumer.channel.basic_ack, consumer.channel.basic_nack = spy_ack, spy_nack
    tags = [m._tag for m in got]
    # Out of order, from worker threads: 0-3 done, 4 still running, 5 rejected, 6-7 done.
    for i in (2, 0, 3, 1, 7, 6):
        consumer.ack(got[i])
    consumer.nack(got[5])
    _settled(consumer)
    assert sent == [("nack", tags[5], False), ("ack", tags[3], True),
                    ("ack", tags[6], False), ("ack", tags[7], False)]
    consumer.ack(got[4])  # the last one ends: nothing is acked twice
    _settled(consumer)
    assert sent[4:] == [("ack", tags[4], False)]
    assert consumer.channel.is_open
    consumer.close()
    assert _count(queue) == 0
    assert _take(f"{queue}.XQ") == got[5].message_id
    broker.close()


def test_a_message_still_running_stays_when_the_others_are_acked_and_the_channel_closes(
        queue: str) -> None:
    broker, consumer, got = _delivered(queue, 4)
    for m in (got[0], got[2], got[3]):
        consumer.ack(m)
    _settled(consumer)
    consumer.close()  # the process dies running the second
    assert _take(queue) == got[1].message_id
    assert _take(queue) is None
    broker.close()
