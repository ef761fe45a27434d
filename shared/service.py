"""What a service hands the bootstrap: its routes, its app factory and its workers."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import dramatiq
import falcon

from shared.http import Operation, ServiceContext

EventHandler = Callable[[dict[str, Any]], None]


@dataclass(frozen=True)
class ServiceDef:
    name: str
    operations: Sequence[Operation]
    create_app: Callable[[ServiceContext], falcon.App[Any, Any]]
    # Builds the function bound to the service's queue for the events it consumes.
    on_event: Callable[[ServiceContext], EventHandler] | None = None
    # Fills ctx.extras with service-specific collaborators (notifier, rooms, ...).
    setup: Callable[[ServiceContext], None] | None = None
    # Declares the service's own actors (jobs it sends itself through the outbox).
    actors: Callable[[dramatiq.Broker, ServiceContext], None] | None = None
    # Periodic jobs for the scheduler tick (e.g. due meeting reminders).
    periodic: Callable[[ServiceContext], Sequence[Callable[[], None]]] = field(
        default=lambda ctx: ()
    )
