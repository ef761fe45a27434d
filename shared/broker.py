"""A Dramatiq broker built from a URL, and the consumer side of the topology."""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable
from typing import Any

import dramatiq
import orjson
from dramatiq.broker import MessageProxy
from dramatiq.brokers.stub import StubBroker
from dramatiq.middleware import Middleware

from shared.logs import correlation_id
from shared.settings import Settings
from shared.topology import actor_of, queue_of

log = logging.getLogger("atende.broker")
# Seconds an SQS message stays hidden while a worker runs it: six times the worker
# Lambda's timeout (AWS's advice), and the queues' VisibilityTimeout in the template.
SQS_VISIBILITY_TIMEOUT = 180


class Correlation(Middleware):
    """Carries the correlation id from the message into the worker's logs and events."""

    def before_process_message(self, broker: dramatiq.Broker, message: MessageProxy) -> None:
        correlation_id.set(message.options.get("correlation_id") or message.message_id)

    def after_process_message(self, broker: dramatiq.Broker, message: MessageProxy,
                              *, result: Any = None, exception: BaseException | None = None
                              ) -> None:
        correlation_id.set(None)
        if exception is not None:
            log.warning("message failed", extra={"fields": {
                "actor": message.actor_name, "message_id": message.message_id,
                "retries": message.options.get("retries", 0), "error": type(exception).__name__}})


class OrjsonEncoder(dramatiq.JSONEncoder):
    """Dramatiq's JSON messages, written and read by orjson (as the HTTP side's bodies
    are): the server encodes one per consumer of every event, and a worker decodes each
    delivery. What orjson will not write (a key that is not text, an integer beyond 64
    bits) or read (NaN, written by the json module) goes through the json module."""

    def encode(self, data: dict[str, Any]) -> bytes:
        try:
            return orjson.dumps(data)
        except TypeError:
            return super().encode(data)

    def decode(self, data: bytes) -> dict[str, Any]:
        try:
            doc: dict[str, Any] = orjson.loads(data)
        except orjson.JSONDecodeError:
            return super().decode(data)
        return doc


def build_broker(settings: Settings) -> dramatiq.Broker:
    url = settings.broker_url
    broker: dramatiq.Broker
    if not isinstance(dramatiq.get_encoder(), OrjsonEncoder):
        dramatiq.set_encoder(OrjsonEncoder())
    if url.startswith("memory://"):
        broker = StubBroker()
    elif url.startswith(("redis://", "rediss://")):
        from shared.redis_broker import ResilientRedisBroker

        broker = ResilientRedisBroker(url=url)
    elif url.startswith(("amqp://", "amqps://")):
        from shared.rabbitmq_broker import TagSafeRabbitmqBroker

        broker = TagSafeRabbitmqBroker(url=url, confirm_delivery=True)
    elif url.startswith("sqs://"):
        from shared.sqs_broker import LazySQSBroker

        # Queues are "<prefix>-<env>_<queue>" and "..._dlq", as infra/template.yaml names
        # them. dramatiq_sqs's default visibility timeout (12 h) would hide a crashed
        # worker's message for hours; ours is a few times the longest actor run.
        broker = LazySQSBroker(
            settings,
            namespace=f"{settings.table_prefix}-{settings.environment}",
            dead_letter=True,
            visibility_timeout=SQS_VISIBILITY_TIMEOUT,
        )
    else:
        raise ValueError(f"unsupported broker URL scheme: {url.split('://')[0]}")
    broker.add_middleware(Correlation())
    for path in settings.broker_middleware:
        module, _, name = path.partition(":")
        broker.add_middleware(getattr(importlib.import_module(module), name)())
    return broker


def declare_job(
    broker: dramatiq.Broker, fn: Callable[[dict[str, Any]], object], *, actor_name: str,
    queue_name: str, settings: Settings,
) -> dramatiq.Actor[[dict[str, Any]], object]:
    """Bind a function taking one JSON payload to a queue, with the platform's retries."""
    declare: Any = dramatiq.actor(
        broker=broker,
        actor_name=actor_name,
        queue_name=queue_name,
        max_retries=settings.max_retries,
        min_backoff=settings.min_backoff_ms,
        max_backoff=settings.max_backoff_ms,
    )
    actor: dramatiq.Actor[[dict[str, Any]], object] = declare(fn)
    return actor


def declare_consumer(
    broker: dramatiq.Broker, service: str, fn: Callable[[dict[str, Any]], object],
    settings: Settings,
) -> dramatiq.Actor[[dict[str, Any]], object]:
    """Bind a service's event handler to its queue under the topology's actor name."""

    def consume(doc: dict[str, Any]) -> None:
        fn(doc)  # what it returns (applied or not) is for tests; an actor returns nothing

    # A consumer that applies batches offers them to the worker (shared.batch_worker).
    consume.together = getattr(fn, "together", None)  # type: ignore[attr-defined]
    return declare_job(broker, consume, actor_name=actor_of(service),
                       queue_name=queue_of(service), settings=settings)
