"""Which services consume which events. Publishing enqueues one message per consuming
service on that service's queue, by actor name, without importing the consumer. The map
is built by the bootstrap from the services' contracts; the kernel names no service."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # a queue's name needs no contract, nor the event models it imports
    from shared.contract import Contract


def queue_of(service: str) -> str:
    return f"{service}-events"


def actor_of(service: str) -> str:
    return f"{service}_on_event"


class Topology:
    """Event type -> the services that consume it, in a stable order."""

    def __init__(self, consumers: Mapping[str, Iterable[str]] | None = None) -> None:
        self._table: dict[str, tuple[str, ...]] | None = {
            event: tuple(services) for event, services in (consumers or {}).items()}
        self._contracts: Callable[[], Iterable[Contract]] | None = None

    @classmethod
    def of(cls, contracts: Iterable[Contract]) -> Topology:
        consumers: dict[str, list[str]] = {}
        for contract in contracts:
            for event_type in contract.consumed:
                consumers.setdefault(event_type, []).append(contract.name)
        return cls(consumers)

    @classmethod
    def deferred(cls, contracts: Callable[[], Iterable[Contract]]) -> Topology:
        """The topology of the contracts ``contracts()`` returns, read when first asked: a
        function that publishes nothing (a read, most first events) never imports the
        other services' contracts and their schemas."""
        topology = cls()
        topology._table, topology._contracts = None, contracts
        return topology

    @property
    def _consumers(self) -> dict[str, tuple[str, ...]]:
        if self._table is None:  # two threads may both read the contracts: same result
            assert self._contracts is not None
            self._table = Topology.of(self._contracts())._consumers
        return self._table

    def consumers(self, event_type: str) -> tuple[str, ...]:
        return self._consumers.get(event_type, ())

    def event_types(self) -> frozenset[str]:
        return frozenset(self._consumers)
