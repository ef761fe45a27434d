"""A Dramatiq worker whose event queues are applied in batches by the thread that reads
them, where the broker allows it.

Dramatiq hands each message from its queue's consumer thread to a worker thread and each
settle back: hand-overs of the interpreter that cost more than a delivery's own work
(docs/performance.md). Here the consumer thread takes the deliveries its consumer already
holds (``waiting``: RabbitMQ's channel, Redis's fetched messages), up to ``BATCH_LIMIT``,
lets the middleware prepare them at once (``before_process_batch``: the crash guard counts
their starts in one transaction), runs each one's middleware in a context of its own,
applies them in one transaction (``EventConsumer.together``) and settles them, all in the
one thread. A message that must run alone goes to the worker threads as Dramatiq would
send it: a job, a delayed message, a redelivery (RabbitMQ's quorum queues say so, the
crash guard's records elsewhere), which the crash guard runs by itself.

A broker whose consumer cannot tell what it holds (the in-process one, SQS's on Lambda,
which has its own loop) is consumed as Dramatiq does."""

from __future__ import annotations

import contextvars
import logging
import threading
from collections.abc import Callable, Sequence
from typing import Any

import dramatiq
from dramatiq.broker import MessageProxy
from dramatiq.common import q_name
from dramatiq.errors import ActorNotFound, BrokerConnectionError
from dramatiq.middleware import SkipMessage
from dramatiq.worker import ConsumerThread

from shared.consumer import BATCH_LIMIT

log = logging.getLogger("atende.broker")

# The batch call of a consumer's actor: each delivery's payload and its context; one
# outcome each, None when applied (or a repeat), else what it raised.
Together = Callable[[Sequence[tuple[Any, contextvars.Context]]], list[BaseException | None]]


class BatchConsumerThread(ConsumerThread):
    """A queue's consumer thread that applies the batches it reads itself (module doc)."""

    def handle_message(self, message: MessageProxy) -> None:
        together = self._together_of(message)
        if together is None:
            super().handle_message(message)
            return
        batch, other = [message], None
        consumer: Any = self.consumer  # one whose class has ``waiting`` (BatchingWorker)
        while len(batch) < BATCH_LIMIT and consumer.waiting():
            following = next(consumer)  # already held: returns at once
            if following is None:
                break
            if self._together_of(following) is not together:
                other = following
                break
            batch.append(following)
        self._apply(batch, together)
        if other is not None:
            self.handle_message(other)

    def _together_of(self, message: MessageProxy) -> Together | None:
        """The batch call of the message's actor, if it has one, unless the message must
        run alone: a delayed one, or one that a counting queue delivers again (which the
        crash guard runs alone; where the broker does not count, its record says so, see
        ``_prepared``)."""
        if "eta" in message.options:
            return None
        counts = getattr(self.broker, "counts_deliveries", None)
        if (counts is not None and counts(message.queue_name)
                and getattr(message, "redelivered", None) is not False):
            return None
        try:
            actor = self.broker.get_actor(message.actor_name)
        except ActorNotFound:
            return None
        together: Together | None = getattr(actor.fn, "together", None)
        return together

    def _apply(self, batch: list[MessageProxy], together: Together) -> None:
        """As Dramatiq's worker thread runs each message, for a batch at once: the
        middleware before, the actor, the middleware after, the settle; each message's
        hooks and effect in a context of its own (its correlation id, its crash guard
        hold)."""
        started: list[tuple[MessageProxy, contextvars.Context]] = []
        for message in self._prepared(batch):
            context = contextvars.copy_context()
            try:
                context.run(self.broker.emit_before, "process_message", message)
            except SkipMessage:
                context.run(self.broker.emit_after, "skip_message", message)
                self.post_process_message(message)
                continue
            except BaseException as exc:
                self._finish(message, context, exc)
                continue
            if message.failed:  # failed by a middleware (a dead message): not run
                self._finish(message, context, None)
                continue
            started.append((message, context))
        if not started:
            return
        try:
            outcomes = together([(m.args[0], c) for m, c in started])
        except BaseException as exc:  # raised into the thread (a time limit): all retried
            outcomes = [exc] * len(started)
        for (message, context), outcome in zip(started, outcomes, strict=True):
            self._finish(message, context, outcome)

    def _prepared(self, batch: list[MessageProxy]) -> list[MessageProxy]:
        """The batch, once the middleware that prepare a batch at once have (the crash
        guard counts the starts); what one of them says must run alone goes to the
        worker threads, every message if one of them fails."""
        alone: set[int] = set()
        try:
            for middleware in self.broker.middleware:
                prepare = getattr(middleware, "before_process_batch", None)
                if prepare is not None:
                    alone |= prepare(self.broker, batch)
        except Exception as exc:  # the error's type alone: its text may quote data
            log.warning("batch not prepared: its messages run one by one",
                        extra={"fields": {"queue": self.queue_name,
                                          "error": type(exc).__name__}})
            alone = {id(m) for m in batch}
        for message in batch:
            if id(message) in alone:
                super().handle_message(message)
        return [m for m in batch if id(m) not in alone]

    def _finish(self, message: MessageProxy, context: contextvars.Context,
                exception: BaseException | None) -> None:
        if exception is None:
            context.run(self.broker.emit_after, "process_message", message, result=None)
        else:  # logged by the Correlation middleware, by the error's type alone
            message.stuff_exception(exception)
            context.run(self.broker.emit_after, "process_message", message,
                        exception=exception)
        self.post_process_message(message)
        message.clear_exception()

    def post_process_message(self, message: MessageProxy) -> None:
        """A settle, from this thread once: Dramatiq's waits out a lost connection, which
        only this thread, the consumer's, can make again. A settle lost with its channel
        needs none: the broker gives the message again (and it is applied once)."""
        if threading.current_thread() is not self:
            super().post_process_message(message)
            return
        consumer: Any = self.consumer
        outcome, settle = ("nack", consumer.nack) if message.failed else ("ack", consumer.ack)
        try:
            self.broker.emit_before(outcome, message)
            settle(message)
            self.broker.emit_after(outcome, message)
        except BrokerConnectionError:
            log.warning("settle lost with the connection; the broker delivers it again",
                        extra={"fields": {"queue": self.queue_name,
                                          "message_id": message.message_id}})


class BatchingWorker(dramatiq.Worker):
    """A Dramatiq worker whose queues' consumers apply batches where they can (module
    doc); a queue whose consumer cannot count what it holds is consumed as Dramatiq does.
    Its prefetch lets the broker send the next batch while one is applied."""

    def _add_consumer(self, queue_name: str, *, delay: bool = False) -> None:
        consumer_class = getattr(self.broker, "consumer_class", None)
        if delay or not hasattr(consumer_class, "waiting") or queue_name in self.consumers:
            super()._add_consumer(queue_name, delay=delay)
            return
        if self.consumer_whitelist and q_name(queue_name) not in self.consumer_whitelist:
            return
        thread = self.consumers[queue_name] = BatchConsumerThread(
            broker=self.broker, queue_name=queue_name,
            prefetch=max(self.queue_prefetch, 2 * BATCH_LIMIT),
            work_queue=self.work_queue, worker_timeout=self.worker_timeout)
        thread.start()
