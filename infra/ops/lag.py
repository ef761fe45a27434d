"""``atende ops lag``: how far behind each table's outbox is."""

from __future__ import annotations

from typing import Any

from infra.ops.stores import tables
from shared.settings import Settings


def lag(settings: Settings) -> dict[str, Any]:
    from shared.clock import SystemClock
    from shared.outbox import Relay

    relay = Relay(broker=None, clock=SystemClock(), durable=True)
    with tables(settings) as by_service:
        for table in by_service.values():
            relay.watch(table)
        return relay.lag()
