"""Dramatiq's RabbitMQ broker, made to ack only what the current channel delivered.

Delivery tags are numbers a channel counts from 1. When a worker's consumer reconnects, the
messages it had already handed to worker threads are still being run, and their acks go to
the new consumer: an old message's tag names whatever the new channel delivered under the
same number, which RabbitMQ then forgets while it still waits in this process. A crash
before it runs loses it. An ack or nack for a message of an earlier channel is dropped
instead: that channel's close already gave the message back to the queue (a repeat, which
consumers apply once)."""

from __future__ import annotations

import logging
from typing import Any

from dramatiq.brokers.rabbitmq import RabbitmqBroker, _RabbitmqConsumer

log = logging.getLogger("atende.broker")


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


class TagSafeRabbitmqBroker(RabbitmqBroker):
    @property
    def consumer_class(self) -> type[_RabbitmqConsumer]:
        return _Consumer
