"""Lambda entry point: an SQS-triggered worker for one service's queues (ATENDE_SERVICE):
its event queue and its jobs' own (the followups mail queue), each by an event source
mapping of its own.

Each record is a Dramatiq message as dramatiq_sqs enqueues it (base64 of the encoded
message). The worker runs the same actor a Dramatiq worker would, and reports the records
that raised as batch item failures: SQS makes them visible again (after a backoff set
here) and moves them to the DLQ after the queue's maxReceiveCount. Dramatiq's own retry
middleware is not used here; the queue's redrive policy plays its part.
"""

from __future__ import annotations

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
    failures = []
    for record in event.get("Records", []):
        try:
            run(platform.broker, record["body"])
        except Exception as exc:
            log.warning("record failed", extra={"fields": {
                "message_id": record.get("messageId"), "error": type(exc).__name__,
                "receive_count": record.get("attributes", {}).get("ApproximateReceiveCount")}})
            failures.append({"itemIdentifier": record["messageId"]})
            _back_off(platform.settings, record)
    return {"batchItemFailures": failures}


def run(broker: Any, body: str) -> Any:
    from dramatiq import Message
    from dramatiq.broker import MessageProxy

    from shared.broker import Correlation
    from shared.logs import correlation_id

    message = Message.decode(b64decode(body))
    actor = broker.get_actor(message.actor_name)  # ActorNotFound: a failure like any other
    Correlation().before_process_message(broker, MessageProxy(message))
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
