"""``atende ops queues``: each RabbitMQ queue's type (the services' event queues and their
jobs' own), and its move from a classic
queue (what deployments before quorum queues declared) to a quorum one.

A queue's type cannot change in place: a migration moves the queue's messages into a
holding quorum queue "<queue>.migrating", deletes the classic queue, declares it again as
a quorum queue and moves the messages back. It refuses while a consumer (a worker) is
attached; the HTTP servers must be stopped too, since a message published while the queue
is deleted is dropped by RabbitMQ (see docs/operations.md). Run again after an
interruption, it finishes the move: messages are only ever acknowledged on one queue once
the broker has confirmed them on the other."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from infra.process import OperatorError
from infra.services import queues
from shared.rabbitmq_broker import PRECONDITION_FAILED, classic_arguments, quorum_arguments
from shared.settings import Settings

NOT_FOUND = 404
HOLDING = ".migrating"


@dataclass
class QueueState:
    queue: str
    kind: str  # "quorum", "classic" or "missing"
    messages: int
    consumers: int
    moved: int = 0  # by a migration: messages moved through the holding queue and back


class _Rabbit:
    """One connection, and a channel opened again after each refusal (a refused
    declaration closes the channel it was made on)."""

    def __init__(self, url: str) -> None:
        import pika

        self.pika = pika
        self.conn = pika.BlockingConnection(pika.URLParameters(url))
        self.channel = self.reopen()

    def reopen(self) -> Any:
        channel = self.conn.channel()
        channel.confirm_delivery()
        return channel

    def attempt(self, declare: Callable[[Any], Any]) -> tuple[Any, int]:
        """``declare`` on the channel: (its answer, 0), or (None, the refusal's code)."""
        try:
            return declare(self.channel), 0
        except self.pika.exceptions.ChannelClosedByBroker as exc:
            self.channel = self.reopen()
            return None, int(exc.reply_code)

    def state(self, queue: str) -> QueueState:
        ok, code = self.attempt(lambda c: c.queue_declare(queue, passive=True))
        if code == NOT_FOUND:
            return QueueState(queue, "missing", 0, 0)
        if code:
            raise OperatorError(f"RabbitMQ refused to describe {queue} (code {code})")
        # A quorum declaration the queue does not match is refused: either it is a classic
        # queue, or a quorum queue an operator declared with other arguments.
        _, refused = self.attempt(lambda c: c.queue_declare(
            queue, durable=True, arguments=quorum_arguments(queue)))
        if refused == PRECONDITION_FAILED:
            _, other = self.attempt(lambda c: c.queue_declare(
                queue, durable=True, arguments=classic_arguments(queue)))
            kind = "quorum" if other == PRECONDITION_FAILED else "classic"
        else:
            kind = "quorum"
        return QueueState(queue, kind, ok.method.message_count, ok.method.consumer_count)

    def move(self, source: str, target: str) -> int:
        """Every message of ``source`` into ``target``, each acknowledged on ``source``
        only after the broker confirmed it on ``target``."""
        moved = 0
        while True:
            method, props, body = self.channel.basic_get(source, auto_ack=False)
            if method is None:
                return moved
            self.channel.basic_publish("", target, body, props, mandatory=True)
            self.channel.basic_ack(method.delivery_tag)
            moved += 1

    def close(self) -> None:
        if self.conn.is_open:
            self.conn.close()


def queue_states(settings: Settings) -> list[QueueState]:
    rabbit = _connect(settings)
    try:
        return [rabbit.state(queue) for queue, _ in queues()]
    finally:
        rabbit.close()


def migrate(settings: Settings) -> list[QueueState]:
    """Move every classic queue to a quorum queue (see the module's docstring)."""
    rabbit = _connect(settings)
    try:
        done = []
        for queue, _ in queues():
            state = rabbit.state(queue)
            holding = rabbit.state(queue + HOLDING)
            if state.kind == "quorum" and holding.kind == "missing":
                done.append(state)
                continue
            if state.consumers:
                raise OperatorError(f"{queue} has {state.consumers} consumer(s): stop the "
                                    f"workers (and the HTTP servers) before migrating")
            rabbit.channel.queue_declare(queue + HOLDING, durable=True,
                                         arguments=quorum_arguments(queue + HOLDING))
            if state.kind == "classic":
                rabbit.move(queue, queue + HOLDING)
                rabbit.channel.queue_delete(queue, if_empty=True)
            # A fresh channel: one that published to the classic queue keeps its type
            # and fails on the quorum queue of the same name (RabbitMQ 3.10).
            rabbit.channel = rabbit.reopen()
            rabbit.channel.queue_declare(queue, durable=True,
                                         arguments=quorum_arguments(queue))
            moved = rabbit.move(queue + HOLDING, queue)
            # Quorum queues refuse if_empty: emptiness is checked here instead.
            left = rabbit.channel.queue_declare(queue + HOLDING, passive=True)
            if left.method.message_count:
                raise OperatorError(f"{queue + HOLDING} still holds messages: run again")
            rabbit.channel.queue_delete(queue + HOLDING)
            after = rabbit.state(queue)
            after.moved = moved
            done.append(after)
        return done
    finally:
        rabbit.close()


def _connect(settings: Settings) -> _Rabbit:
    if not settings.broker_url.startswith(("amqp://", "amqps://")):
        raise OperatorError("`atende ops queues` is for RabbitMQ: ATENDE_BROKER_URL is not "
                            "an amqp:// URL")
    return _Rabbit(settings.broker_url)
