"""What every job needs: the platform's tables, and which services keep copies of the
requests store's data, as their declarations say."""

from __future__ import annotations

from infra.services import SERVICES, contract
from shared.settings import Settings
from shared.tables import Table


def tables(settings: Settings) -> dict[str, Table]:
    """Each service's table, as the platform would open them."""
    from infra.bootstrap import _tables

    found: dict[str, Table] = _tables(settings)[0]
    return found


def consumers_of(event_type: str) -> tuple[str, ...]:
    """The services whose contracts consume ``event_type``, in the platform's order."""
    return tuple(s for s in SERVICES if event_type in contract(s).consumed)


def projecting() -> tuple[str, ...]:
    """The services keeping a view of every request (from the request events)."""
    return consumers_of("RequestSubmitted")


def roster_copies() -> tuple[str, ...]:
    """The services keeping a copy of the roster (from RosterChanged)."""
    return consumers_of("RosterChanged")
