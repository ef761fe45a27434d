"""The services this platform runs, and what their contracts add up to. The one place
outside the services' own folders that names them."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence
from functools import cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the relay needs the names alone, not the services' kernel
    from shared.context import ServiceContext
    from shared.contract import Contract
    from shared.service import ServiceDef
    from shared.topology import Topology

SERVICES = ("requests", "followups", "meetings", "reviews")
# Those whose ServiceDef declares periodic jobs, and the module of each whose
# ``periodic(ctx)`` lists them (the ServiceDef's own): the scheduler tick imports these
# modules alone, not the services (a test keeps this in step with their declarations).
PERIODIC = {"meetings": "services.meetings.reminders"}


def contract(name: str) -> Contract:
    """A service's declaration, without building (or importing) its app."""
    found: Contract = importlib.import_module(f"services.{name}.contract").CONTRACT
    return found


def load_service(name: str) -> ServiceDef:
    found: ServiceDef = importlib.import_module(f"services.{name}.app").SERVICE
    return found


def periodic(name: str) -> Callable[[ServiceContext[Any]], Sequence[Callable[[], None]]]:
    """A service's periodic jobs, given its context, without loading the service."""
    found: Callable[[ServiceContext[Any]], Sequence[Callable[[], None]]] = (
        importlib.import_module(PERIODIC[name]).periodic)
    return found


@cache
def topology(names: tuple[str, ...] = SERVICES) -> Topology:
    """Who consumes what, from every running service's contract: an event is published to
    the services that declare it, whichever of them this process runs. Read from the
    contracts on its first use."""
    from shared.topology import Topology

    return Topology.deferred(lambda: [contract(n) for n in names])


def queues(names: tuple[str, ...] = SERVICES) -> list[tuple[str, str]]:
    """Every queue of the services, each with the service whose messages it carries: its
    event queue, then its jobs' own queues (what ops lists, replays and creates)."""
    from shared.topology import queues_of

    return [(queue, name) for name in names for queue in queues_of(contract(name))]
