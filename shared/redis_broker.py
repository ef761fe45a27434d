"""Dramatiq's Redis broker, made to give back what a broken connection strands.

A fetch moves message ids into this process's ack set on the server before the reply
comes back. When the connection breaks in between, the worker never sees those messages,
and the server keeps them reserved for as long as this process heartbeats: for ever, in a
long-running worker. An ack that fails the same way leaves its message reserved too.
After such an error the process takes a new identity: the old one stops heartbeating, and
Redis's maintenance hands whatever it still holds back to the queue once the heartbeat
timeout has passed (a repeat for messages already done, which consumers apply once)."""

from __future__ import annotations

import dataclasses
import logging
import threading
from typing import Any
from uuid import uuid4

import redis
from dramatiq import Message, get_encoder
from dramatiq.brokers.redis import RedisBroker, _RedisConsumer
from dramatiq.common import current_millis
from dramatiq.errors import ConnectionClosed
from dramatiq.middleware import Middleware
from redis.exceptions import NoScriptError, ResponseError

from shared.ids import uuid_text

log = logging.getLogger("atende.broker")
# A message's fields, as Message.asdict gives them (which looks them up for every message).
_FIELDS = tuple(f.name for f in dataclasses.fields(Message))


class _Consumer(_RedisConsumer):
    """Acks made by the consumer's own thread (one that applies what it reads:
    ``shared.batch_worker``) wait for its next read and go in one round trip; another
    thread's go at once, as Dramatiq sends them."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._home = threading.get_ident()  # made by the thread that reads it
        self._acks: list[Any] = []

    def _forget_reservations(self) -> None:
        old, self.broker.broker_id = self.broker.broker_id, str(uuid4())
        log.warning("redis connection lost: new worker identity", extra={"fields": {
            "queue": self.queue_name, "old": old, "new": self.broker.broker_id}})

    def __next__(self) -> Any:
        try:
            self._flush_acks()
            return super().__next__()
        except ConnectionClosed:
            self._forget_reservations()
            raise

    def _flush_acks(self) -> None:
        acks, self._acks = self._acks, []
        if not acks:
            return
        try:
            self.broker.ack_many(self.queue_name,
                                 [m.options["redis_message_id"] for m in acks])
        except (redis.ConnectionError, redis.TimeoutError) as exc:
            raise ConnectionClosed(exc) from None
        finally:
            for message in acks:
                self.queued_message_ids.discard(message.message_id)

    def close(self) -> None:
        try:
            self._flush_acks()
        except ConnectionClosed:
            self._forget_reservations()

    def waiting(self) -> int:
        """How many fetched messages wait here: taken without a round trip
        (``shared.batch_worker``)."""
        return len(self.message_cache)

    def ack(self, message: Any) -> None:
        if threading.get_ident() == self._home:
            self._acks.append(message)
            return
        try:
            super().ack(message)
        except ConnectionClosed:
            self._forget_reservations()
            raise


class ResilientRedisBroker(RedisBroker):
    @property
    def consumer_class(self) -> type[_RedisConsumer]:
        return _Consumer

    def add_middleware(self, middleware: Middleware, **where: Any) -> None:
        super().add_middleware(middleware, **where)
        self._enqueue_hooked: bool | None = None

    def _hooked(self) -> bool:
        """Whether any middleware acts when a message is enqueued: of the nine a worker's
        broker carries, none does, and emitting to each (and copying every message for
        them) was a quarter of what handing a commit's messages over cost."""
        hooked = getattr(self, "_enqueue_hooked", None)
        if hooked is None:
            hooked = self._enqueue_hooked = any(
                _acts_on(m, hook) for m in self.middleware
                for hook in ("before_enqueue", "after_enqueue"))
        return hooked

    def enqueue_many(self, messages: list[Message[Any]]) -> list[Message[Any]]:
        """``enqueue`` each of ``messages`` (none delayed), in one round trip: an event
        goes to every service that consumes it, and a busy server's commits go out
        together. Dramatiq's own script and arguments (``RedisBroker.enqueue`` and
        ``_dispatch``), by the script's hash (asking the server first whether it knows the
        script would be another round trip), written as one RESP request: redis-py's
        pipeline encodes each of a call's 14 arguments in Python, which with its
        bookkeeping was most of what handing over a command's event cost the server. On
        an error none may be taken for sent (some may be: their consumers apply a repeat
        once). Returns the messages (with their ids); as ``enqueue`` makes them, with
        their Redis id among the options, where a middleware acts on enqueueing."""
        hooked = self._hooked()
        queued: list[tuple[Message[Any], dict[str, Any]]] = []
        for message in messages:
            options = {**message.options, "redis_message_id": uuid_text()}
            if hooked:
                message = message.copy(options=options)
                self.emit_before("enqueue", message, None)
            queued.append((message, options))
        if not queued:
            return []
        encode = get_encoder().encode
        errors = self._dispatch_many("enqueue", [
            (message.queue_name, [options["redis_message_id"].encode(), encode(
                {name: getattr(message, name) for name in _FIELDS} | {"options": options})])
            for message, options in queued])
        if any(isinstance(e, NoScriptError) for e in errors):
            # The server lost the script (a restart, SCRIPT FLUSH): nothing ran; one at a
            # time, the way that loads it again.
            return [self.enqueue(message) for message in messages]
        if errors:
            raise errors[0]
        if hooked:
            for message, _ in queued:
                self.emit_after("enqueue", message, None)
        return [message for message, _ in queued]

    def ack_many(self, queue_name: str, redis_ids: list[str]) -> None:
        """Dramatiq's ``ack`` of each message, in one round trip (as ``enqueue_many``)."""
        errors = self._dispatch_many("ack", [(queue_name, [rid.encode()]) for rid in redis_ids])
        if any(isinstance(e, NoScriptError) for e in errors):
            for rid in redis_ids:  # the server lost the script: the way that loads it
                self.do_ack(queue_name, rid)
        elif errors:
            raise errors[0]

    def _dispatch_many(self, command: str, calls: list[tuple[str, list[bytes]]]
                       ) -> list[ResponseError]:
        """Dramatiq's dispatch script run once per call, by its hash, as one RESP request;
        the error replies. Its arguments (``_dispatch``): the command, the time, the queue,
        this process's identity and settings, then the call's own."""
        sha, namespace, me = (self.scripts["dispatch"].sha.encode(), self.namespace.encode(),
                              self.broker_id.encode())
        settings = (b"%d" % self.heartbeat_timeout, b"%d" % self.dead_message_ttl)
        unpack, name = b"%d" % self._max_unpack_size(), command.encode()
        request = [resp_command([
            b"EVALSHA", sha, b"1", namespace, name, b"%d" % current_millis(), queue.encode(),
            me, *settings, b"%d" % self._should_do_maintenance(command), unpack, *args])
            for queue, args in calls]
        return self._send_packed(b"".join(request), len(request))

    def _send_packed(self, request: bytes, replies: int) -> list[ResponseError]:
        """Send ``request`` on a pooled connection and read its ``replies``, with the
        client's own retries on a broken connection; the error replies, if any."""
        pool = self.client.connection_pool
        conn = pool.get_connection()

        def exchange() -> list[ResponseError]:
            conn.send_packed_command([request])
            errors = []
            for _ in range(replies):  # every reply is read: the socket goes back clean
                try:
                    conn.read_response()
                except ResponseError as exc:
                    errors.append(exc)
            return errors

        try:
            result: list[ResponseError] = conn.retry.call_with_retry(
                exchange, lambda error: conn.disconnect())
            return result
        except BaseException:
            conn.disconnect()  # replies may be left unread on it
            raise
        finally:
            pool.release(conn)


def _acts_on(middleware: Middleware, hook: str) -> bool:
    return getattr(type(middleware), hook) is not getattr(Middleware, hook)


def resp_command(args: list[bytes]) -> bytes:
    """One command in Redis's wire format (RESP): the count, then each argument with its
    length."""
    parts = [b"*%d\r\n" % len(args)]
    for arg in args:
        parts.append(b"$%d\r\n%b\r\n" % (len(arg), arg))
    return b"".join(parts)
