"""What a service's resources and workers are built with. Workers need it as much as the
HTTP edge does, so it lives apart from both."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from shared.blobs import Blobs
from shared.clock import Clock
from shared.identity import Verifier
from shared.outbox import Relay, UnitOfWork
from shared.settings import Settings
from shared.tables import Table
from shared.topology import Topology


@dataclass
class ServiceContext:
    """The collaborators the bootstrap built for one service."""

    settings: Settings
    table: Table
    blobs: Blobs
    clock: Clock
    verifier: Verifier
    relay: Relay | None
    topology: Topology
    extras: dict[str, Any] = field(default_factory=dict)

    def uow(self) -> UnitOfWork:
        return UnitOfWork(self.table, self.relay, self.clock, self.topology)
