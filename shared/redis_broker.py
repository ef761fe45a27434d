"""Dramatiq's Redis broker, made to give back what a broken connection strands.

A fetch moves message ids into this process's ack set on the server before the reply
comes back. When the connection breaks in between, the worker never sees those messages,
and the server keeps them reserved for as long as this process heartbeats: for ever, in a
long-running worker. An ack that fails the same way leaves its message reserved too.
After such an error the process takes a new identity: the old one stops heartbeating, and
Redis's maintenance hands whatever it still holds back to the queue once the heartbeat
timeout has passed (a repeat for messages already done, which consumers apply once)."""

from __future__ import annotations

import logging
from typing import Any
from uuid import uuid4

from dramatiq import Message
from dramatiq.brokers.redis import RedisBroker, _RedisConsumer
from dramatiq.common import current_millis
from dramatiq.errors import ConnectionClosed
from redis.exceptions import NoScriptError

log = logging.getLogger("atende.broker")


class _Consumer(_RedisConsumer):
    def _forget_reservations(self) -> None:
        old, self.broker.broker_id = self.broker.broker_id, str(uuid4())
        log.warning("redis connection lost: new worker identity", extra={"fields": {
            "queue": self.queue_name, "old": old, "new": self.broker.broker_id}})

    def __next__(self) -> Any:
        try:
            return super().__next__()
        except ConnectionClosed:
            self._forget_reservations()
            raise

    def ack(self, message: Any) -> None:
        try:
            super().ack(message)
        except ConnectionClosed:
            self._forget_reservations()
            raise


class ResilientRedisBroker(RedisBroker):
    @property
    def consumer_class(self) -> type[_RedisConsumer]:
        return _Consumer

    def enqueue_many(self, messages: list[Message[Any]]) -> list[Message[Any]]:
        """``enqueue`` each of ``messages`` (none delayed), in one round trip: an event
        goes to every service that consumes it, and a round trip apiece was most of what
        handing over a command's event cost the server. Dramatiq's own script and
        arguments (``RedisBroker.enqueue`` and ``_dispatch``), sent through a pipeline
        by the script's hash (registered with the pipeline, redis-py would ask the server
        whether it knows the script first: another round trip). On an error none may be
        taken for sent (some may be: their consumers apply a repeat once)."""
        pipe = self.client.pipeline(transaction=False)
        sha = self.scripts["dispatch"].sha
        queued = []
        for message in messages:
            message = message.copy(options={"redis_message_id": str(uuid4())})
            self.emit_before("enqueue", message, None)
            pipe.evalsha(sha, 1, self.namespace, "enqueue", current_millis(),
                         message.queue_name, self.broker_id, self.heartbeat_timeout,
                         self.dead_message_ttl, self._should_do_maintenance("enqueue"),
                         self._max_unpack_size(), message.options["redis_message_id"],
                         message.encode())
            queued.append(message)
        try:
            pipe.execute()
        except NoScriptError:
            # The server lost the script (a restart, SCRIPT FLUSH): nothing ran; one at a
            # time, the way that loads it again.
            return [self.enqueue(message) for message in messages]
        for message in queued:
            self.emit_after("enqueue", message, None)
        return queued
