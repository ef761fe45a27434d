"""What waits in an outbox (shared.outbox): read without the relay, its broker or the
event models, so that a scheduler tick starts its reads first thing."""

from __future__ import annotations

from datetime import datetime, timedelta

from shared.clock import iso
from shared.tables import Item, Table, Where

OUTBOX_PK = "OUTBOX"


def pending(table: Table, now: datetime, *, min_age: float = 1.0, limit: int = 200,
            redeliver_after: float | None = None) -> list[Item]:
    """The entries of ``table`` due for (re)dispatch at ``now``: pending for ``min_age``
    seconds at least. ``redeliver_after`` (a broker that keeps nothing): those sent longer
    ago than that and never acknowledged too. Needs no broker: the scheduler reads before
    it knows whether it has anything to send."""
    cutoff = iso(now - timedelta(seconds=min_age))
    where: list[Where] = [Where("status", "=", "pending")]
    if redeliver_after is not None:
        lease = iso(now - timedelta(seconds=redeliver_after))
        where.append(Where("dispatched_at", "<", lease))
    page = table.query(OUTBOX_PK, end=cutoff + "\uffff", limit=limit, where=where)
    if redeliver_after is None:
        return page.items
    never = table.query(OUTBOX_PK, end=cutoff + "\uffff", limit=limit,
                        where=[Where("status", "=", "pending"),
                               Where("dispatched_at", "not_exists")])
    return sorted(never.items + page.items, key=lambda e: e["sk"])[:limit]
