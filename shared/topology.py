"""Which services consume which events, and which queue each job goes to. Publishing
enqueues one message per consuming service on that service's queue, by actor name, without
importing the consumer. The map is built by the bootstrap from the services' contracts;
the kernel names no service."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # a queue's name needs no contract, nor the event models it imports
    from shared.contract import Contract


def queue_of(service: str) -> str:
    """A service's event queue (and that of its jobs without a queue of their own)."""
    return f"{service}-events"


def job_queue(service: str, queue: str) -> str:
    """The queue of a service's job that has one of its own (``Job.queue``)."""
    return f"{service}-{queue}"


def _job_queue(service: str, own: str | None) -> str:
    return job_queue(service, own) if own else queue_of(service)


def queue_of_job(contract: Contract, actor: str) -> str:
    """The queue a service's job is declared on: its own, or the service's event queue."""
    return _job_queue(contract.name, contract.own_queues.get(actor))


def own_queues_of(contract: Contract) -> tuple[str, ...]:
    """The queues of a service's jobs that have one of their own: the I/O queues."""
    return tuple(sorted({job_queue(contract.name, q) for q in contract.own_queues.values()}))


def queues_of(contract: Contract) -> tuple[str, ...]:
    """Every queue a service's messages arrive on: its event queue, then its jobs' own."""
    return (queue_of(contract.name), *own_queues_of(contract))


def actor_of(service: str) -> str:
    return f"{service}_on_event"


class Topology:
    """Event type -> the services that consume it, in a stable order; and the jobs that
    have a queue of their own (``Contract.own_queues``)."""

    def __init__(self, consumers: Mapping[str, Iterable[str]] | None = None,
                 jobs: Mapping[tuple[str, str], str] | None = None) -> None:
        # jobs: (service, actor) -> the name of the job's own queue, as the contract gives it
        self._table: dict[str, tuple[str, ...]] | None = {
            event: tuple(services) for event, services in (consumers or {}).items()}
        self._jobs: dict[tuple[str, str], str] = dict(jobs or {})
        self._contracts: Callable[[], Iterable[Contract]] | None = None

    @classmethod
    def of(cls, contracts: Iterable[Contract]) -> Topology:
        consumers: dict[str, list[str]] = {}
        jobs: dict[tuple[str, str], str] = {}
        for contract in contracts:
            for event_type in contract.consumed:
                consumers.setdefault(event_type, []).append(contract.name)
            for actor, queue in contract.own_queues.items():
                jobs[contract.name, actor] = queue
        return cls(consumers, jobs)

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
            read = Topology.of(self._contracts())
            self._jobs = read._jobs
            self._table = read._consumers
        return self._table

    def consumers(self, event_type: str) -> tuple[str, ...]:
        return self._consumers.get(event_type, ())

    def event_types(self) -> frozenset[str]:
        return frozenset(self._consumers)

    def job_queue(self, service: str, actor: str) -> str:
        """The queue a service's job is sent on: its own, or the service's event queue."""
        if self._table is None:
            self._consumers  # noqa: B018 (reads the contracts, jobs with them)
        return _job_queue(service, self._jobs.get((service, actor)))
