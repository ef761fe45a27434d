"""Idempotent consumers: an event's effect and the record that it was applied commit in
one transaction, so a repeat delivery changes nothing."""

from __future__ import annotations

import contextvars
import logging
from collections.abc import Callable, Mapping, Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from shared.clock import iso
from shared.combining import Combiner
from shared.logs import log as log_fields
from shared.messages import Event
from shared.metrics import EFFECTS
from shared.outbox import UnitOfWork
from shared.tables import ConditionFailed, Delete, Put, Write

log = logging.getLogger("atende.consumer")
APPLIED_PK = "APPLIED"
# Delivery counts share the consumers' bookkeeping partition (sk never clashes: consumer
# markers are "<service>#<event id>").
DELIVERY_PREFIX = "DELIVERY#"
# Deliveries applied in one transaction at most: enough for every worker thread's, and few
# enough that a batch's writes stay within what one DynamoDB transaction takes.
BATCH_LIMIT = 16


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
            delivery = _mark_applied(uow, sk, event, _delivery.get())
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


def _mark_applied(uow: UnitOfWork, sk: str, event: Event, delivery: _Delivery | None
                  ) -> _Delivery | None:
    """The applied marker, and the crash guard's count cleared, in the effect's commit; the
    count if it is cleared there."""
    uow.add(Put({"pk": APPLIED_PK, "sk": sk, "type": event.type,
                 "applied_at": iso(uow.clock.now())}, must_not_exist=True))
    if delivery is None or delivery.table != uow.table.name:
        return None  # no count, or one in another service's table
    uow.add(Delete(APPLIED_PK, delivery.sk))
    return delivery


class Delivered:
    """A delivery handed to a batch: its event, and what lives in the thread that received
    it: the crash guard's count of it, and its context (its correlation id, for the log
    lines its effect writes). A plain class: a dataclass is compiled at import, which every
    Lambda function's first answer pays (docs/performance.md)."""

    __slots__ = ("context", "delivery", "event")

    def __init__(self, event: Event, delivery: _Delivery | None,
                 context: contextvars.Context | None = None) -> None:
        self.event = event
        self.delivery = delivery
        self.context = context or contextvars.copy_context()


# What a batch made of a delivery: applied (True), a repeat (False), or left to its own
# thread to apply alone (None); and what its effect returned.
Outcome = tuple[bool | None, Mapping[str, Any] | None]
_ALONE: Outcome = (None, None)


def apply_together(new_uow: Callable[[], UnitOfWork], consumer: str,
                   batch: Sequence[Delivered], effect: Effect, reads: Reads) -> list[Outcome]:
    """Apply deliveries that arrived together in one transaction: one read of all their
    markers and declared keys, one commit for all. Each effect runs as it would alone, in
    turn. A delivery the batch cannot take so is left to its own thread: one that reads a
    key an earlier one reads (events about one request), writes a key an earlier one
    wrote, or raises; and every one if the commit fails. A lone delivery is applied as
    ever (``apply_once``)."""
    outcomes = [_ALONE] * len(batch)
    if len(batch) < 2:
        return outcomes
    keys: list[tuple[str, str]] = []
    taken: list[int] = []
    for n, d in enumerate(batch):
        mine = [(APPLIED_PK, f"{consumer}#{d.event.id}"), *reads(d.event)]
        if not set(mine).isdisjoint(keys):
            continue
        keys.extend(mine)
        taken.append(n)
    cleared: list[_Delivery] = []
    try:
        with new_uow() as uow:
            uow.read_ahead(keys)
            written: set[tuple[str, str]] = set()
            for n in taken:
                event = batch[n].event
                sk = f"{consumer}#{event.id}"
                if uow.get(APPLIED_PK, sk) is not None:
                    outcomes[n] = (False, None)
                    continue
                point = uow.savepoint()
                try:
                    result = batch[n].context.run(effect, uow, event)
                except Exception:  # run again alone, it raises to its broker
                    uow.roll_back(point)
                    continue
                touched = {_key(w) for w in uow.writes[point[0]:]}
                if not touched.isdisjoint(written):
                    uow.roll_back(point)
                    continue
                written |= touched
                delivery = _mark_applied(uow, sk, event, batch[n].delivery)
                if delivery is not None:
                    cleared.append(delivery)
                outcomes[n] = (True, result)
            # Like writes together: SQLite puts a row of them in one statement.
            uow.writes.sort(key=_rank)
            uow.commit()
    except Exception as exc:  # each alone then, as without a batch
        log_fields(log, "events left to apply one at a time", consumer=consumer,
                   count=len(batch), error=type(exc).__name__)
        return [_ALONE] * len(batch)
    for delivery in cleared:
        delivery.cleared = True
    for d, (applied, _) in zip(batch, outcomes, strict=True):
        if applied is not None:
            EFFECTS.labels(consumer, d.event.type, "applied" if applied else "repeat").inc()
    return outcomes


def _key(w: Write) -> tuple[str, str]:
    return (w.item["pk"], w.item["sk"]) if isinstance(w, Put) else (w.pk, w.sk)


def _rank(w: Write) -> int:
    """Conditioned writes first, then unconditioned puts, then new items: no key is
    written twice in a batch, so their order changes nothing else."""
    if not isinstance(w, Put) or w.expect_version is not None:
        return 0
    return 2 if w.must_not_exist else 1


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
        # Deliveries that arrive while a batch is being applied wait and go together.
        self._together: Combiner[Delivered, Outcome] = Combiner(self._apply_together,
                                                                limit=BATCH_LIMIT)

    def __call__(self, doc: dict[str, Any]) -> bool:
        """Apply one delivered event; True if this delivery was the one applied."""
        if doc.get("type") not in self.handles:
            return False
        event = Event.parse(doc, self.schemas)
        outcome = (self._together(Delivered(event, _delivery.get()))
                   if self.reads is not None else _ALONE)
        return self._conclude(event, outcome)

    def together(self, docs: Sequence[tuple[dict[str, Any], contextvars.Context]]
                 ) -> list[BaseException | None]:
        """Deliveries read together by one thread (``shared.batch_worker``), each with the
        context its middleware ran in: applied as a batch, what the batch leaves applied
        alone in turn. One outcome each: None, or what its delivery raised."""
        errors: list[BaseException | None] = [None] * len(docs)
        batch: list[Delivered] = []
        where: list[int] = []
        for n, (doc, context) in enumerate(docs):
            if doc.get("type") not in self.handles:
                continue
            try:
                event = Event.parse(doc, self.schemas)
            except Exception as exc:
                errors[n] = exc
                continue
            batch.append(Delivered(event, context.run(_delivery.get), context))
            where.append(n)
        outcomes = (self._apply_together(batch) if self.reads is not None
                    else [_ALONE] * len(batch))
        for d, n, outcome in zip(batch, where, outcomes, strict=True):
            try:
                d.context.run(self._conclude, d.event, outcome)
            except Exception as exc:
                errors[n] = exc
        return errors

    def _conclude(self, event: Event, outcome: Outcome) -> bool:
        """A delivery once its batch ran: logged if the batch applied it, applied alone if
        the batch left it; True if this delivery was the one applied."""
        applied, result = outcome
        if applied is None:
            return apply_once(self.new_uow, self.service, event, self._run, reads=self.reads)
        if applied:
            self._logged(event, result)
        return applied

    def _apply_together(self, batch: Sequence[Delivered]) -> list[Outcome]:
        assert self.reads is not None
        return apply_together(self.new_uow, self.service, batch, self.effect, self.reads)

    def _run(self, uow: UnitOfWork, event: Event) -> None:
        self._logged(event, self.effect(uow, event))

    def _logged(self, event: Event, result: Mapping[str, Any] | None) -> None:
        log_fields(self.log, "event applied", type=event.type, event_id=event.id,
                   request_id=event.request_id, **(result or {}))
