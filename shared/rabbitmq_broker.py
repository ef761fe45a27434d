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

import logging
from typing import Any

import pika
from dramatiq.brokers.rabbitmq import RabbitmqBroker, _RabbitmqConsumer
from dramatiq.common import q_name, xq_name

log = logging.getLogger("atende.broker")
PRECONDITION_FAILED = 406  # a declaration whose arguments the existing queue does not have


class _Consumer(_RabbitmqConsumer):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.delivered: dict[int, Any] = {}  # tag -> the message this channel gave it to

    def __next__(self) -> Any:
        message: Any = super().__next__()
        if message is not None:
            self.delivered[message._tag] = message
        return message

    def _ours(self, message: Any) -> bool:
        tag = message._tag
        if self.delivered.get(tag) is message:
            del self.delivered[tag]
            return True
        log.warning("settle skipped: delivered on an earlier channel", extra={"fields": {
            "queue": self.queue_name, "message_id": message.message_id}})
        return False

    def ack(self, message: Any) -> None:
        if self._ours(message):
            super().ack(message)

    def nack(self, message: Any) -> None:
        if self._ours(message):
            super().nack(message)


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
