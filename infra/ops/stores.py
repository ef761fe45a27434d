"""What every job needs: the platform's tables, and which services keep copies of the
requests store's data, as their declarations say."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from infra.services import SERVICES, contract
from shared.settings import Settings
from shared.tables import Table


@contextmanager
def tables(settings: Settings) -> Iterator[dict[str, Table]]:
    """Each service's table, as the platform would open them, for the block's length: the
    database's connections (PostgreSQL's pool) are let go of after it."""
    from infra.bootstrap import _tables

    found, database = _tables(settings)
    try:
        yield found
    finally:
        close = getattr(database, "close", None)  # SQLite's connections are per thread
        if close is not None:
            close()


def consumers_of(event_type: str) -> tuple[str, ...]:
    """The services whose contracts consume ``event_type``, in the platform's order."""
    return tuple(s for s in SERVICES if event_type in contract(s).consumed)


def projecting() -> tuple[str, ...]:
    """The services keeping a view of every request (from the request events)."""
    return consumers_of("RequestSubmitted")


def roster_copies() -> tuple[str, ...]:
    """The services keeping a copy of the roster (from RosterChanged)."""
    return consumers_of("RosterChanged")
