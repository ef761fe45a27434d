"""``atende ops dead-letters`` and ``replay``: dead letters where each broker keeps them.

SQS in the DLQs; Redis in Dramatiq's ``dramatiq:<queue>.XQ`` sorted set and its
``.XQ.msgs`` hash; RabbitMQ in the ``<queue>.XQ`` queues; the in-process broker as outbox
entries with status "dead". A listing shows ids, actor, event type and request, never an
event's contents (they may hold personal data).
"""

from __future__ import annotations

from base64 import b64decode
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from infra.ops.stores import tables
from infra.services import queues
from shared.settings import Settings
from shared.topology import queue_of


@dataclass
class DeadLetter:
    queue: str
    id: str  # what `replay` takes: SQS/RabbitMQ message id, Redis message id, outbox sk
    actor: str | None
    event_type: str | None
    event_id: str | None
    request_id: str | None


def _summary(queue: str, ident: str, message: Any) -> DeadLetter:
    event = message.args[0] if message.args and isinstance(message.args[0], dict) else {}
    return DeadLetter(queue, ident, message.actor_name, event.get("type"), event.get("id"),
                      event.get("request_id"))


def _text(raw: bytes | str) -> str:
    return raw.decode() if isinstance(raw, bytes) else raw


def _decode(raw: bytes | str) -> Any:
    from dramatiq import Message

    return Message.decode(raw if isinstance(raw, bytes) else raw.encode())


# SQS: a DLQ per queue, named as dramatiq_sqs and the template name them.
def _sqs_queues(settings: Settings) -> Iterator[tuple[str, str, str]]:
    from shared.aws import client

    sqs = client(settings, "sqs")
    for queue, _ in queues():
        base = f"{settings.table_prefix}-{settings.environment}_{queue}"
        yield (queue, sqs.get_queue_url(QueueName=base)["QueueUrl"],
               sqs.get_queue_url(QueueName=f"{base}_dlq")["QueueUrl"])


def _sqs_receive(sqs: Any, url: str, hold: int) -> Iterator[dict[str, Any]]:
    seen: set[str] = set()
    while True:
        batch = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10,
                                    VisibilityTimeout=hold, WaitTimeSeconds=0
                                    ).get("Messages", [])
        fresh = [m for m in batch if m["MessageId"] not in seen]
        if not fresh:
            return
        for m in fresh:
            seen.add(m["MessageId"])
            yield m


def _sqs_list(settings: Settings) -> Iterator[DeadLetter]:
    from shared.aws import client

    sqs = client(settings, "sqs")
    for queue, _, dlq in _sqs_queues(settings):
        # Reading hides a message; hold them while listing (so each is seen once), then
        # make them all visible again: a listing leaves the DLQ as it was.
        held = list(_sqs_receive(sqs, dlq, hold=60))
        for m in held:
            try:
                yield _summary(queue, m["MessageId"], _decode(b64decode(m["Body"])))
            except Exception:
                yield DeadLetter(queue, m["MessageId"], None, None, None, None)
        for n in range(0, len(held), 10):
            sqs.change_message_visibility_batch(QueueUrl=dlq, Entries=[
                {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"], "VisibilityTimeout": 0}
                for i, m in enumerate(held[n:n + 10])])


def _sqs_replay(settings: Settings, ids: set[str] | None) -> int:
    from shared.aws import client

    sqs = client(settings, "sqs")
    count = 0
    for _, url, dlq in _sqs_queues(settings):
        for m in _sqs_receive(sqs, dlq, hold=30):
            if ids is not None and m["MessageId"] not in ids:
                continue
            sqs.send_message(QueueUrl=url, MessageBody=m["Body"])
            sqs.delete_message(QueueUrl=dlq, ReceiptHandle=m["ReceiptHandle"])
            count += 1
    return count


# Redis: Dramatiq keeps dead message ids in a sorted set and their bodies in a hash.
def _redis_list(settings: Settings) -> Iterator[DeadLetter]:
    import redis

    client = redis.Redis.from_url(settings.broker_url)
    for queue, _ in queues():
        for ident, raw in client.hgetall(f"dramatiq:{queue}.XQ.msgs").items():
            yield _summary(queue, _text(ident), _decode(raw))


def _redis_replay(settings: Settings, ids: set[str] | None) -> int:
    import redis

    from shared.broker import build_broker

    client = redis.Redis.from_url(settings.broker_url)
    broker = build_broker(settings)
    count = 0
    for queue, _ in queues():
        broker.declare_queue(queue)
        for ident, raw in client.hgetall(f"dramatiq:{queue}.XQ.msgs").items():
            if ids is not None and _text(ident) not in ids:
                continue
            message = _decode(raw)
            # A fresh retry budget: the replayed message gets the same chances as a new one.
            broker.enqueue(message.copy(options={**message.options, "retries": 0}))
            client.zrem(f"dramatiq:{queue}.XQ", ident)
            client.hdel(f"dramatiq:{queue}.XQ.msgs", ident)
            count += 1
    broker.close()
    return count


# RabbitMQ: a "<queue>.XQ" queue per queue.
def _rabbit_each(settings: Settings, ids: set[str] | None, replay: bool
                 ) -> Iterator[DeadLetter]:
    import pika

    conn = pika.BlockingConnection(pika.URLParameters(settings.broker_url))
    channel = conn.channel()
    try:
        for queue, _ in queues():
            held = []
            while True:
                method, props, body = channel.basic_get(f"{queue}.XQ", auto_ack=False)
                if method is None:
                    break
                message = _decode(body)
                if replay and (ids is None or message.message_id in ids):
                    channel.basic_publish("", queue, body, props)
                    channel.basic_ack(method.delivery_tag)
                else:
                    held.append(method.delivery_tag)
                yield _summary(queue, message.message_id, message)
            for tag in held:  # listed only: back where they were
                channel.basic_nack(tag, requeue=True)
    finally:
        conn.close()


def _rabbitmq_list(settings: Settings) -> Iterator[DeadLetter]:
    yield from _rabbit_each(settings, None, replay=False)


def _rabbitmq_replay(settings: Settings, ids: set[str] | None) -> int:
    return sum(1 for d in _rabbit_each(settings, ids, replay=True)
               if ids is None or d.id in ids)


# The in-process broker: the outbox keeps the entries whose delivery died.
def _outbox_list(settings: Settings) -> Iterator[DeadLetter]:
    from shared.outbox import OUTBOX_PK, owed_to
    from shared.tables import Where

    with tables(settings) as by_service:
        for table in by_service.values():
            page = table.query(OUTBOX_PK, limit=10_000, where=[Where("status", "=", "dead")])
            for e in page.items:
                event = e.get("event") or {}
                for service in owed_to(e):
                    yield DeadLetter(e.get("queue") or queue_of(service), e["sk"], e.get("actor"),
                                     event.get("type"), event.get("id"), event.get("request_id"))


def _outbox_replay(settings: Settings, ids: set[str] | None) -> int:
    from shared.consumer import APPLIED_PK, DELIVERY_PREFIX
    from shared.outbox import OUTBOX_PK, owed_to
    from shared.tables import ConditionFailed, Delete, Put, Where

    count = 0
    with tables(settings) as by_service:
        for table in by_service.values():
            page = table.query(OUTBOX_PK, limit=10_000, where=[Where("status", "=", "dead")])
            for e in page.items:
                if ids is not None and e["sk"] not in ids:
                    continue
                # Pending again and never dispatched: the next sweep sends it.
                again = {**e, "status": "pending", "dispatched_at": None,
                         "version": e["version"] + 1}
                try:
                    table.transact([Put(again, expect_version=e["version"])])
                    for service in owed_to(e):
                        # Every resend is a new message: forget the crash count that
                        # dead-lettered it (counted under the entry's key when it was sent;
                        # one set apart when it died has its service's name added).
                        sent_as = (e["sk"].removesuffix(f"#{service}") if "services" in e
                                   else e["sk"])
                        by_service[service].transact([
                            Delete(APPLIED_PK, f"{DELIVERY_PREFIX}{table.name}#{key}")
                            for key in {e["sk"], sent_as}])
                    count += 1
                except ConditionFailed:
                    pass
    return count


@dataclass(frozen=True)
class _Broker:
    list: Callable[[Settings], Iterator[DeadLetter]]
    replay: Callable[[Settings, set[str] | None], int]


# By the broker URL's scheme, the first that matches.
_BROKERS: tuple[tuple[str, _Broker], ...] = (
    ("sqs://", _Broker(_sqs_list, _sqs_replay)),
    ("redis", _Broker(_redis_list, _redis_replay)),
    ("amqp", _Broker(_rabbitmq_list, _rabbitmq_replay)),
    ("memory://", _Broker(_outbox_list, _outbox_replay)),
)


def _broker(settings: Settings) -> _Broker:
    url = settings.broker_url
    for prefix, broker in _BROKERS:
        if url.startswith(prefix):
            return broker
    raise ValueError(f"unsupported broker URL {url}")


def dead_letters(settings: Settings) -> list[DeadLetter]:
    return list(_broker(settings).list(settings))


def replay(settings: Settings, ids: list[str] | None = None) -> int:
    """Put dead letters back on their queues (all, or those with the given ids)."""
    return _broker(settings).replay(settings, set(ids) if ids else None)
