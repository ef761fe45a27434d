"""Idempotent consumers: an event's effect and the record that it was applied commit in
one transaction, so a repeat delivery changes nothing."""

from __future__ import annotations

from collections.abc import Callable

from shared.clock import iso
from shared.messages import Event
from shared.outbox import UnitOfWork
from shared.tables import ConditionFailed, Put

APPLIED_PK = "APPLIED"


def apply_once(
    new_uow: Callable[[], UnitOfWork],
    consumer: str,
    event: Event,
    effect: Callable[[UnitOfWork, Event], None],
) -> bool:
    """Apply ``effect`` for ``event`` unless this consumer already did; True if applied."""
    sk = f"{consumer}#{event.id}"
    with new_uow() as uow:
        if uow.get(APPLIED_PK, sk) is not None:
            return False
        effect(uow, event)
        marker = {"pk": APPLIED_PK, "sk": sk, "type": event.type,
                  "applied_at": iso(uow.clock.now())}
        uow.add(Put(marker, must_not_exist=True))
        try:
            uow.commit()
        except ConditionFailed:
            if uow.get(APPLIED_PK, sk) is not None:
                return False  # a concurrent delivery won
            raise  # another conflict: let the broker retry
        return True
