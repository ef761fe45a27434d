"""Lambda entry point: the outbox relay on DynamoDB Streams.

An INSERT of an outbox entry (pk "OUTBOX", stored in its shards "OUTBOX#<n>") on any
service table is sent to the broker and deleted, within a second of the commit even when
the committing function could not send it (broker outage, timeout, crash). The scheduler
tick's sweep stays as the backstop.
"""

from __future__ import annotations

import logging
from typing import Any

from infra.aws.collector import first_event_paused

log = logging.getLogger("atende.relay")


@first_event_paused
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    from infra.aws import runtime
    from shared.outbox import OUTBOX_PK
    from shared.tables.dynamodb import from_item

    relay, tables = runtime.relay()
    failures = []
    for record in event.get("Records", []):
        image = record.get("dynamodb", {}).get("NewImage")
        if record.get("eventName") != "INSERT" or not image:
            continue
        entry = from_item(image)
        if entry.get("pk") != OUTBOX_PK:
            continue
        # ".../table/<name>/stream/<label>"
        table = tables.get(record["eventSourceARN"].split("/")[1])
        if table is None:
            log.warning("stream of an unknown table", extra={"fields": {
                "arn": record["eventSourceARN"]}})
            continue
        # The committing function usually sent and deleted it already: sending only what
        # is still there keeps duplicates (which consumers would ignore anyway) rare.
        current = table.get(OUTBOX_PK, entry["sk"])
        if current is None or current.get("status") != "pending":
            continue
        if relay.dispatch(table, [current]) != 1:
            failures.append({"itemIdentifier": record["dynamodb"]["SequenceNumber"]})
    return {"batchItemFailures": failures}
