"""What a service's resources and workers are built with. Workers need it as much as the
HTTP edge does, so it lives apart from both."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Generic, TypeVar

from shared.blobs import Blobs
from shared.clock import Clock
from shared.identity import Verifier
from shared.settings import Settings
from shared.tables import Table
from shared.topology import Topology

if TYPE_CHECKING:  # loaded by a first command: a job that finds nothing to do needs none
    from shared.outbox import Submits, UnitOfWork

D = TypeVar("D")


@dataclass
class ServiceContext(Generic[D]):
    """The collaborators the bootstrap built for one service; ``deps`` are its own (a mail
    sender, a room maker...), a dataclass the service declares."""

    settings: Settings
    table: Table
    blobs: Blobs
    clock: Clock
    verifier: Verifier
    relay: Submits | None
    topology: Topology
    deps: D

    def uow(self) -> UnitOfWork:
        from shared.outbox import UnitOfWork

        return UnitOfWork(self.table, self.relay, self.clock, self.topology)
