"""Dramatiq's RabbitMQ broker, made to ack only what the current channel delivered.

Delivery tags are numbers a channel counts from 1. When a worker's consumer reconnects, the
messages it had already handed to worker threads are still being run, and their acks go to
the new consumer: an old message's tag names whatever the new channel delivered under the
same number, which RabbitMQ then forgets while it still waits in this process. A crash
before it runs loses it. An ack or nack for a message of an earlier channel is dropped
instead: that channel's close already gave the message back to the queue (a repeat, which
consumers apply once).

Queues are quorum queues where they are new (see TagSafeRabbitmqBroker)."""

from __future__ import annotations

import bisect
import logging
import threading
from typing import Any

import pika
from dramatiq.brokers.rabbitmq import RabbitmqBroker, _RabbitmqConsumer
from dramatiq.common import q_name, xq_name
from dramatiq.errors import ConnectionClosed

log = logging.getLogger("atende.broker")
PRECONDITION_FAILED = 406  # a declaration whose arguments the existing queue does not have


class _Consumer(_RabbitmqConsumer):
    """Settles on the consumer's own thread, those that wait together at once: the acks of
    a run of tags below every message still being run as one ``multiple`` ack. Dramatiq
    sends each ack apart, and pika waits for each to be written out before the next: most
    of a RabbitMQ consumer thread's time, and the deliveries of a batch
    (``shared.combining``) finish together."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.delivered: dict[int, Any] = {}  # tag -> the message this channel gave it to
        # Guards ``delivered`` and what waits to be settled: a tag leaves the one and joins
        # the other at once, so a flush never takes an unsettled tag for a settled one.
        self._settling = threading.Lock()
        self._acks: list[int] = []
        self._nacks: list[int] = []
        self._flush_due = False

    def __next__(self) -> Any:
        message: Any = super().__next__()
        if message is not None:
            with self._settling:
                self.delivered[message._tag] = message
        return message

    def waiting(self) -> int:
        """How many deliveries this channel already holds: taken without waiting
        (``shared.batch_worker``)."""
        return int(self.channel.get_waiting_message_count())

    def _ours(self, message: Any) -> bool:
        """Whether this channel delivered the message (then no longer in ``delivered``);
        the caller holds ``_settling``."""
        tag = message._tag
        if self.delivered.get(tag) is message:
            del self.delivered[tag]
            self.known_tags.discard(tag)
            return True
        log.warning("settle skipped: delivered on an earlier channel", extra={"fields": {
            "queue": self.queue_name, "message_id": message.message_id}})
        return False

    def ack(self, message: Any) -> None:
        self._settle(message, self._acks)

    def nack(self, message: Any) -> None:
        self._settle(message, self._nacks)

    def _nack(self, tag: int) -> None:
        """Dramatiq's rejection of a message it could not decode (never delivered on)."""
        self._settle(None, self._nacks, tag)

    def _settle(self, message: Any, into: list[int], tag: int | None = None) -> None:
        with self._settling:
            if message is not None:
                if not self._ours(message):
                    return
                tag = message._tag
            into.append(tag)  # type: ignore[arg-type]  # given when message is None
            if self._flush_due:
                return
            self._flush_due = True
        try:
            self.connection.add_callback_threadsafe(self._flush)
        except (pika.exceptions.AMQPConnectionError, pika.exceptions.AMQPChannelError) as e:
            raise ConnectionClosed(e) from None

    def _flush(self) -> None:
        """On the consumer's thread: rejections first, then the acks below the oldest
        message still being run in one frame, and the others one by one."""
        with self._settling:
            acks, nacks = sorted(self._acks), self._nacks
            self._acks, self._nacks, self._flush_due = [], [], False
            oldest = min(self.delivered, default=None)
        for tag in nacks:
            self.channel.basic_nack(tag, requeue=False)
        below = len(acks) if oldest is None else bisect.bisect_left(acks, oldest)
        if below > 1:
            self.channel.basic_ack(acks[below - 1], multiple=True)
        elif below:
            self.channel.basic_ack(acks[0])
        for tag in acks[below:]:
            self.channel.basic_ack(tag)


# A backstop above the crash guard's own limit (shared.crash_guard.CRASH_LIMIT): the broker
# also counts the returns of messages that were only prefetched when a worker died, which
# the guard does not charge; it dead-letters only what the guard could not (its table out
# of reach at every start). On a quorum queue the guard counts redeliveries only, so the
# broker's count is what tells it a message came back.
DELIVERY_LIMIT = 20


class TagSafeRabbitmqBroker(RabbitmqBroker):
    """Declares a new queue as a quorum queue, whose delivery count is part of its
    replicated state: the crash guard counts only what it redelivers. A queue that
    already exists as a classic one is kept as it is (a queue's type cannot change in
    place), and one log line says how to migrate it."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.quorum: dict[str, bool] = {}  # canonical queue name -> is a quorum queue

    @property
    def consumer_class(self) -> type[_RabbitmqConsumer]:
        return _Consumer

    def counts_deliveries(self, queue_name: str) -> bool:
        """Whether the broker counts this queue's deliveries (a quorum queue): a message it
        has not handed out before says so (``redelivered`` false)."""
        return self.quorum.get(q_name(queue_name), False)

    def _declare_queue(self, queue_name: str) -> Any:
        try:
            ok = self.channel.queue_declare(queue=queue_name, durable=True,
                                            arguments=quorum_arguments(queue_name))
            self.quorum[queue_name] = True
            return ok
        except pika.exceptions.ChannelClosedByBroker as exc:
            if exc.reply_code != PRECONDITION_FAILED:
                raise
            del self.channel  # the broker closed it; the next use opens another
        try:
            ok = super()._declare_queue(queue_name)
        except pika.exceptions.ChannelClosedByBroker as exc:
            if exc.reply_code != PRECONDITION_FAILED:
                raise
            # Neither as we declare quorum queues nor as a classic one: a quorum queue
            # whose arguments an operator changed (another delivery limit). Used as it is.
            del self.channel
            ok = self.channel.queue_declare(queue=queue_name, passive=True)
            self.quorum[queue_name] = True
            log.warning("quorum queue declared with other arguments: used as it is",
                        extra={"fields": {"queue": queue_name}})
            return ok
        self.quorum[queue_name] = False
        log.warning("classic queue: no delivery limit of the broker's own behind the crash "
                    "guard; migrate it to a quorum queue with `atende ops queues --migrate` "
                    "(docs/operations.md)", extra={"fields": {"queue": queue_name}})
        return ok


def classic_arguments(queue_name: str) -> dict[str, Any]:
    """A classic queue's arguments, as dramatiq declares them (RabbitMQ compares every
    argument of a declaration with the queue's, given or not)."""
    return {"x-dead-letter-exchange": "", "x-dead-letter-routing-key": xq_name(queue_name)}


def quorum_arguments(queue_name: str) -> dict[str, Any]:
    """A quorum queue's arguments: dramatiq's dead-lettering into "<queue>.XQ" (a rejected
    message, and one returned more than DELIVERY_LIMIT times)."""
    return {"x-queue-type": "quorum", "x-delivery-limit": DELIVERY_LIMIT,
            "x-dead-letter-exchange": "", "x-dead-letter-routing-key": xq_name(queue_name)}
