"""What a service hands the bootstrap: its contract, its app factory and its workers."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from shared.consumer import Effect, EventConsumer, Reads
from shared.context import ServiceContext
from shared.contract import Contract, Operation
from shared.settings import Settings

if TYPE_CHECKING:  # a worker never builds an app: it need not import the HTTP stack
    import dramatiq
    import falcon


@dataclass(frozen=True)
class ServiceDef:
    contract: Contract
    create_app: Callable[[ServiceContext[Any]], falcon.App[Any, Any]]
    # The effect of one event the contract says the service consumes, given its context.
    apply: Callable[[ServiceContext[Any]], Effect] | None = None
    # The keys that effect reads for an event, read with its applied marker at once.
    reads: Reads | None = None
    # Builds the service's own collaborators (ctx.deps) from the settings.
    deps: Callable[[Settings], Any] | None = None
    # Declares the service's own actors (the jobs of its contract).
    actors: Callable[[dramatiq.Broker, ServiceContext[Any]], None] | None = None
    # Periodic jobs for the scheduler tick (e.g. due meeting reminders).
    periodic: Callable[[ServiceContext[Any]], Sequence[Callable[[], None]]] = field(
        default=lambda ctx: ()
    )

    @property
    def name(self) -> str:
        return self.contract.name

    @property
    def operations(self) -> tuple[Operation, ...]:
        return self.contract.operations

    def consumer(self, ctx: ServiceContext[Any]) -> EventConsumer | None:
        """The function bound to the service's queue, or None if it consumes nothing."""
        if self.apply is None or not self.contract.consumes:
            return None
        return EventConsumer(self.name, frozenset(self.contract.consumed), ctx.uow,
                             self.apply(ctx), self.contract.schemas, self.reads)
