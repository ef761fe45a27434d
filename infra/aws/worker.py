"""Lambda entry point: an SQS-triggered worker for one service's queues (ATENDE_SERVICE):
its event queue and its jobs' own (the followups mail queue), each by an event source
mapping of its own.

Each record is a Dramatiq message as dramatiq_sqs enqueues it (base64 of the encoded
message). The worker runs the same actor a Dramatiq worker would (an event consumer's
records together, as ``atende worker``'s consumer threads apply what they read), and
reports the records that raised as batch item failures: SQS makes them visible again
(after a backoff set here) and moves them to the DLQ after the queue's maxReceiveCount.
Dramatiq's own retry middleware is not used here; the queue's redrive policy plays its
part.
"""

from __future__ import annotations

import contextvars
import logging
import os
from base64 import b64decode
from typing import Any

from infra.aws.collector import first_event_paused

log = logging.getLogger("atende.worker")


@first_event_paused
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    from infra.aws import runtime

    service = os.environ["ATENDE_SERVICE"]
    platform = runtime.platform((service,), http=False)
    records = event.get("Records", [])
    failures = []
    for record, exc in zip(records, apply(platform.broker, [r["body"] for r in records]),
                           strict=True):
        if exc is None:
            continue
        log.warning("record failed", extra={"fields": {
            "message_id": record.get("messageId"), "error": type(exc).__name__,
            "receive_count": record.get("attributes", {}).get("ApproximateReceiveCount")}})
        failures.append({"itemIdentifier": record["messageId"]})
        _back_off(platform.settings, record)
    return {"batchItemFailures": failures}


def apply(broker: Any, bodies: list[str]) -> list[BaseException | None]:
    """Each record's message run by its actor; what each raised, or None. The events of
    a consumer that applies batches (``EventConsumer.together``) go to it together, each
    in a context of its own (its correlation id): one transaction for the lot instead of
    one a record."""
    from dramatiq import Message

    from shared.consumer import BATCH_LIMIT

    errors: list[BaseException | None] = [None] * len(bodies)
    batches: dict[int, tuple[Any, list[tuple[int, Any, contextvars.Context]]]] = {}
    for n, body in enumerate(bodies):
        try:
            message = Message.decode(b64decode(body))
            actor = broker.get_actor(message.actor_name)  # ActorNotFound: a failure too
            together = getattr(actor.fn, "together", None)
            if together is None:
                _run(broker, actor, message)
                continue
        except Exception as exc:
            errors[n] = exc
            continue
        own = contextvars.copy_context()
        own.run(_correlated, broker, message)
        batches.setdefault(id(together), (together, []))[1].append((n, message.args[0], own))
    for together, items in batches.values():
        for start in range(0, len(items), BATCH_LIMIT):
            chunk = items[start:start + BATCH_LIMIT]
            outcomes = together([(doc, own) for _, doc, own in chunk])
            for (n, _, _), outcome in zip(chunk, outcomes, strict=True):
                errors[n] = outcome
    return errors


def _correlated(broker: Any, message: Any) -> None:
    from dramatiq.broker import MessageProxy

    from shared.broker import Correlation

    Correlation().before_process_message(broker, MessageProxy(message))


def _run(broker: Any, actor: Any, message: Any) -> Any:
    from shared.logs import correlation_id

    _correlated(broker, message)
    try:
        return actor(*message.args, **message.kwargs)
    finally:
        correlation_id.set(None)


def _back_off(settings: Any, record: dict[str, Any]) -> None:
    """Retry with exponential backoff, as Dramatiq would, instead of waiting out the whole
    visibility timeout. Best effort: if it fails the timeout still brings the record back."""
    try:
        count = int(record.get("attributes", {}).get("ApproximateReceiveCount", "1"))
        ms = min(settings.max_backoff_ms, settings.min_backoff_ms * 2 ** max(0, count - 1))
        account, name = record["eventSourceARN"].split(":")[4:6]
        from shared.aws import client

        sqs = client(settings, "sqs")
        url = sqs.get_queue_url(QueueName=name, QueueOwnerAWSAccountId=account)["QueueUrl"]
        sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=record["receiptHandle"],
                                      VisibilityTimeout=ms // 1000)
    except Exception:
        log.warning("could not set the retry backoff", exc_info=True)
