"""Which services consume which events. Publishing enqueues one message per consuming
service on that service's queue, by actor name, without importing the consumer. The map
is built by the bootstrap from the services' contracts; the kernel names no service."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from shared.contract import Contract


def queue_of(service: str) -> str:
    return f"{service}-events"


def actor_of(service: str) -> str:
    return f"{service}_on_event"


class Topology:
    """Event type -> the services that consume it, in a stable order."""

    def __init__(self, consumers: Mapping[str, Iterable[str]] | None = None) -> None:
        self._consumers = {event: tuple(services)
                           for event, services in (consumers or {}).items()}

    @classmethod
    def of(cls, contracts: Iterable[Contract]) -> Topology:
        consumers: dict[str, list[str]] = {}
        for contract in contracts:
            for event_type in contract.consumed:
                consumers.setdefault(event_type, []).append(contract.name)
        return cls(consumers)

    def consumers(self, event_type: str) -> tuple[str, ...]:
        return self._consumers.get(event_type, ())

    def event_types(self) -> frozenset[str]:
        return frozenset(self._consumers)
