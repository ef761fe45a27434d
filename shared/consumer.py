"""Idempotent consumers: an event's effect and the record that it was applied commit in
one transaction, so a repeat delivery changes nothing."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from shared.clock import iso
from shared.logs import log as log_fields
from shared.messages import Event
from shared.metrics import EFFECTS
from shared.outbox import UnitOfWork
from shared.tables import ConditionFailed, Delete, Put

log = logging.getLogger("atende.consumer")
APPLIED_PK = "APPLIED"
# Delivery counts share the consumers' bookkeeping partition (sk never clashes: consumer
# markers are "<service>#<event id>").
DELIVERY_PREFIX = "DELIVERY#"


@dataclass
class _Delivery:
    """The crash guard's count of the message this thread is running."""

    table: str
    sk: str
    cleared: bool = False


# The keys (pk, sk) an effect will read for an event, if it can tell before it runs.
Reads = Callable[[Event], Sequence[tuple[str, str]]]

# Set by CrashGuard around a message's run (same worker thread as the actor): the effect's
# own transaction clears the count, sparing the guard a write transaction of its own.
_delivery: ContextVar[_Delivery | None] = ContextVar("delivery", default=None)


def apply_once(
    new_uow: Callable[[], UnitOfWork],
    consumer: str,
    event: Event,
    effect: Callable[[UnitOfWork, Event], None],
    *,
    attempts: int = 5,
    reads: Reads | None = None,
) -> bool:
    """Apply ``effect`` for ``event`` unless this consumer already did; True if applied.
    ``reads``: the keys the effect will read, read with the applied marker in one request.

    A write conflict means another event changed what the effect read (events about one
    request arrive together): the effect is read and run again at once, a few times, before
    the broker's slower retry, so that a busy request does not exhaust a message's retries."""
    sk = f"{consumer}#{event.id}"
    for attempt in range(attempts):
        with new_uow() as uow:
            ahead = reads(event) if reads is not None else ()
            if ahead:
                uow.read_ahead([(APPLIED_PK, sk), *ahead])
            if uow.get(APPLIED_PK, sk) is not None:
                EFFECTS.labels(consumer, event.type, "repeat").inc()
                return False
            effect(uow, event)
            marker = {"pk": APPLIED_PK, "sk": sk, "type": event.type,
                      "applied_at": iso(uow.clock.now())}
            uow.add(Put(marker, must_not_exist=True))
            delivery = _delivery.get()
            if delivery is not None and delivery.table != uow.table.name:
                delivery = None  # the guard's count lives in another service's table
            if delivery is not None:
                uow.add(Delete(APPLIED_PK, delivery.sk))
            try:
                uow.commit()
            except ConditionFailed:
                if attempt + 1 == attempts:
                    raise  # still contended: let the broker retry later
                continue  # read again; a concurrent delivery that won is seen above
            if delivery is not None:
                delivery.cleared = True
            EFFECTS.labels(consumer, event.type, "applied").inc()
            return True
    raise AssertionError("unreachable")


# The effect of one event on a service's own table; what it returns is logged (ids and
# counts only: never texts, names or addresses).
Effect = Callable[[UnitOfWork, Event], Mapping[str, Any] | None]


class EventConsumer:
    """A service's side of the topology, bound to its queue: each event it consumes is
    applied once; any other type that reaches the queue is ignored. ``schemas`` are the
    service's own event models, read before the kernel's."""

    def __init__(self, service: str, handles: frozenset[str],
                 new_uow: Callable[[], UnitOfWork], effect: Effect,
                 schemas: Mapping[str, type[Event]] | None = None,
                 reads: Reads | None = None) -> None:
        self.service = service
        self.reads = reads
        self.handles = handles
        self.schemas = dict(schemas or {})
        self.new_uow = new_uow
        self.effect = effect
        self.log = logging.getLogger(f"atende.{service}.worker")

    def __call__(self, doc: dict[str, Any]) -> bool:
        """Apply one delivered event; True if this delivery was the one applied."""
        if doc.get("type") not in self.handles:
            return False
        return apply_once(self.new_uow, self.service, Event.parse(doc, self.schemas),
                          self._run, reads=self.reads)

    def _run(self, uow: UnitOfWork, event: Event) -> None:
        result = self.effect(uow, event) or {}
        log_fields(self.log, "event applied", type=event.type, event_id=event.id,
                   request_id=event.request_id, **result)
