"""Unit of work and transactional outbox.

A command buffers its writes and the events it raises in a ``UnitOfWork``; ``commit`` writes
both in one table transaction (one outbox entry per event, naming the services it is owed
to), then hands the entries to the ``Relay``, which sends each to every service it names at
once (from its dispatcher threads, in long-running processes). The relay also sweeps on a
timer, so an entry whose dispatch was cut short by a crash or a broker outage goes out later.

On a durable broker (Redis, RabbitMQ, SQS) an entry is deleted once the broker has it. The
in-process broker keeps nothing across a crash, so there an entry stays until its consumer
has applied it (``DeliveryAcks``), and the sweep re-sends what was never acknowledged.

An entry owed to several services carries them in ``services``; as each gets it (a durable
broker) or applies it (the in-process one), it leaves the list, and the entry goes with the
last. Entries written before that (one per service, ``service``) are read as owed to that
one service.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any, Protocol

from shared.clock import Clock, iso
from shared.dispatcher import Dispatcher
from shared.health import Throttled
from shared.ids import new_id, uuid_text
from shared.metrics import EVENTS, labelled
from shared.pending import OUTBOX_PK as OUTBOX_PK  # where it always was, for its readers
from shared.pending import pending
from shared.tables import ConditionFailed, Delete, Item, Put, Table, Where, Write
from shared.topology import Topology, actor_of, queue_of

if TYPE_CHECKING:  # the relay sends stored entries: it never loads the event models
    import dramatiq
    from dramatiq import Message

    from shared.messages import Event

log = logging.getLogger("atende.outbox")
# Entries sent in one round trip by a broker that takes many (a sweep's or a restart's
# backlog goes in requests of a bounded size).
_TOGETHER = 100


class Submits(Protocol):
    """What a commit hands its outbox entries to: the relay, or (the scheduler's) one
    built on first use."""

    def submit(self, table: Table, entries: list[Item]) -> None: ...


class UnitOfWork:
    """Writes and events of one command; nothing happens unless ``commit`` is called."""

    def __init__(self, table: Table, relay: Submits | None, clock: Clock,
                 topology: Topology) -> None:
        self.table = table
        self.relay = relay
        self.clock = clock
        self.topology = topology
        self.writes: list[Write] = []
        self.entries: list[Item] = []
        self.events: list[Event] = []
        self.committed = False
        # What the command read, as it read it (the read-your-writes wait judges a refusal
        # by the view the command saw, without reading it again).
        self.read: dict[tuple[str, str], Item | None] = {}
        self._ahead: dict[tuple[str, str], Item | None] = {}  # see read_ahead

    def __enter__(self) -> UnitOfWork:
        return self

    def __exit__(self, *exc: object) -> None:
        if not self.committed:
            self.writes.clear()
            self.entries.clear()

    def get(self, pk: str, sk: str) -> Item | None:
        key = (pk, sk)
        item = self._ahead.pop(key) if key in self._ahead else self.table.get(pk, sk)
        self.read[key] = item
        return item

    def read_ahead(self, keys: Sequence[tuple[str, str]]) -> None:
        """Read ``keys`` now, in one request to the store (one round trip, not one each),
        for the next ``get`` of each in this unit of work: what a consumer knows its
        effect will read, read with the applied marker."""
        for key, item in zip(keys, self.table.get_many(keys), strict=True):
            self._ahead[key] = item

    def put(self, item: Item, *, expect_version: int | None = None, new: bool = False) -> None:
        self.writes.append(Put(item, expect_version=expect_version, must_not_exist=new))

    def save(self, item: Item) -> None:
        """Put a versioned item: new when version is 1, else conditioned on the last one."""
        version = int(item["version"])
        if version <= 1:
            self.put(item, new=True)
        else:
            self.put(item, expect_version=version - 1)

    def delete(self, pk: str, sk: str, *, expect_version: int | None = None) -> None:
        self.writes.append(Delete(pk, sk, expect_version))

    def add(self, write: Write) -> None:
        self.writes.append(write)

    def publish(self, event: Event) -> None:
        self.events.append(event)
        services = self.topology.consumers(event.type)
        if not services:
            return
        # One entry for all its consumers: an entry apiece was two statements (its insert,
        # its hand-over) per consumer in every command.
        entry = {
            "pk": OUTBOX_PK,
            "sk": f"{iso(event.occurred_at)}#{event.id}",
            "version": 1,
            "services": list(services),
            "event": event.model_dump(mode="json"),
            "status": "pending",
            "dispatched_at": None,
            "created_at": iso(self.clock.now()),
        }
        self.entries.append(entry)
        self.writes.append(Put(entry, must_not_exist=True))

    def send_task(self, service: str, actor: str, payload: dict[str, Any]) -> None:
        """Queue a job for one of a service's own actors, durably, with the same outbox
        guarantees as an event (e.g. sending a mail, screening a comment)."""
        key = f"{iso(self.clock.now())}#{new_id()}#{service}"
        entry = {"pk": OUTBOX_PK, "sk": key, "version": 1, "service": service,
                 "actor": actor, "event": payload, "status": "pending",
                 "dispatched_at": None, "created_at": iso(self.clock.now())}
        queue = self.topology.job_queue(service, actor)
        if queue != queue_of(service):  # a queue of its own (contract.Job)
            entry["queue"] = queue
        self.entries.append(entry)
        self.writes.append(Put(entry, must_not_exist=True))

    def savepoint(self) -> tuple[int, int, int]:
        """Where the writes and events stand, to drop what comes after (``roll_back``)."""
        return len(self.writes), len(self.entries), len(self.events)

    def roll_back(self, point: tuple[int, int, int]) -> None:
        del self.writes[point[0]:], self.entries[point[1]:], self.events[point[2]:]

    def commit(self) -> None:
        if self.writes:
            self.table.transact(self.writes)
        self.committed = True
        for event in self.events:
            labelled(EVENTS, event.type).inc()
        if self.entries and self.relay is not None:
            self.relay.submit(self.table, self.entries)


def owed_to(entry: Item) -> list[str]:
    """The services an entry still has to reach."""
    services = entry.get("services")
    return list(services) if services is not None else [entry["service"]]


def _transact_if(table: Table, write: Write, *, durable: bool = True) -> bool:
    try:
        table.transact([write], durable=durable)
    except ConditionFailed:
        return False
    return True


class Relay:
    """Hands outbox entries to the broker."""

    def __init__(self, broker: dramatiq.Broker | None, clock: Clock, *, durable: bool,
                 redeliver_after: float = 30.0, repeat_seconds: float = 30.0,
                 broker_on_use: Callable[[], dramatiq.Broker] | None = None) -> None:
        """``broker``, or (None) the one ``broker_on_use`` builds when the relay first has
        something to send: a Lambda function whose first event sends nothing loads no
        Dramatiq, no broker client."""
        self._broker, self._broker_on_use = broker, broker_on_use
        self._broker_lock = threading.RLock()
        self.failures = Throttled(log, repeat_seconds)
        self.clock = clock
        self.durable = durable
        self.redeliver_after = redeliver_after
        self.tables: dict[str, Table] = {}
        self.dispatcher: Dispatcher | None = None
        # Sent, not yet recorded as sent (see start_dispatcher): by table name.
        self._unsettled: dict[str, tuple[Table, list[tuple[Item, list[str]]]]] = {}
        self._unsettled_lock = threading.Lock()
        self._settler: tuple[threading.Thread, threading.Event] | None = None
        self._declared: set[str] = set()  # jobs' own queues declared on the broker

    @property
    def broker(self) -> dramatiq.Broker:
        broker = self._broker
        if broker is None:
            with self._broker_lock:
                if self._broker is None and self._broker_on_use is not None:
                    self._broker = self._broker_on_use()
                broker = self._broker
            if broker is None:  # one that only reads the outboxes (atende ops lag)
                raise RuntimeError("this relay has no broker")
        return broker

    def close_broker(self) -> None:
        """Close the broker, if it was built."""
        if self._broker is not None:
            self._broker.close()

    def start_dispatcher(self, settle_every: float = 0.05) -> None:
        """From now on a commit's entries go out from threads of their own (long-running
        processes; a Lambda instance may be frozen as soon as it answers, so it sends them
        before answering).

        On a durable broker, what went out is recorded every ``settle_every`` seconds, in
        one transaction per table, rather than one per send: on a busy server that was a
        write transaction per command more, taking the store's one write lock from the
        commands (and the workers). Until then a crash would leave it to the sweep to send
        again (a repeat, which consumers apply once); the sweep records what waits first."""
        later = self.durable
        # A broker that takes any number of messages in one round trip (Redis) needs one
        # thread, which sends whatever commits came in meanwhile together. One that takes
        # them one by one (RabbitMQ's confirms) gets a thread per waiting commit: recorded
        # later, a commit's entries gain nothing from going out with others', and a thread
        # that took several would send them one after another while the others idle.
        together = self._many() is not None
        self.dispatcher = Dispatcher(
            lambda table, entries: self.deliver(table, entries, later=later)[1],
            threads=1 if together else 4,
            batch=64 if together else 1 if later else 16)
        self.dispatcher.start()
        if later:
            stop = threading.Event()
            thread = threading.Thread(target=self._settle_every, args=(settle_every, stop),
                                      name="outbox-settle", daemon=True)
            self._settler = (thread, stop)
            thread.start()

    def stop_dispatcher(self) -> None:
        if self.dispatcher is not None:
            self.dispatcher.stop()
            self.dispatcher = None
        if self._settler is not None:
            thread, stop = self._settler
            stop.set()
            thread.join(10)
            self._settler = None
        self.settle_unsettled()

    def _settle_every(self, period: float, stop: threading.Event) -> None:
        while not stop.wait(period):
            try:
                self.settle_unsettled()
            except Exception:  # the entries stay in the outbox: the sweep sends them again
                log.exception("outbox: recording what went out failed")

    def settle_unsettled(self) -> None:
        """Record what the dispatcher sent and has not recorded yet."""
        with self._unsettled_lock:
            waiting, self._unsettled = self._unsettled, {}
        for table, handed in waiting.values():
            self._settle(table, handed)

    def submit(self, table: Table, entries: list[Item]) -> None:
        if self.dispatcher is not None:
            self.dispatcher.submit(table, entries)
        else:
            self.dispatch(table, entries)

    def watch(self, table: Table) -> None:
        self.tables[table.name] = table

    def dispatch(self, table: Table, entries: Iterable[Item]) -> int:
        """Send the entries, in order; how many went out."""
        return self.deliver(table, entries)[0]

    def deliver(self, table: Table, entries: Iterable[Item], *, later: bool = False
                ) -> tuple[int, bool]:
        """``dispatch``, and whether the broker was reachable (a consumer's missing queue
        skips that consumer only). ``later``: what went out is recorded by
        ``settle_unsettled``."""
        handed: list[tuple[Item, list[str]]] = []  # each entry, and who got it
        reachable = True
        done = 0
        many = self._many()
        if many is not None:
            handed, reachable = self._hand_together(table, list(entries), many)
            done = len(handed)
        else:
            for entry in entries:
                got, reachable = self._hand(table, entry)
                if got:
                    handed.append((entry, got))
                    done += len(got) == len(owed_to(entry))
                if not reachable:
                    break
        if later:
            with self._unsettled_lock:
                self._unsettled.setdefault(table.name, (table, []))[1].extend(handed)
        else:
            self._settle(table, handed)
        return done, reachable

    def _many(self) -> Callable[[list[Message[Any]]], object] | None:
        """The broker's way of taking several messages in one round trip (Redis), if it
        has one."""
        many: Callable[[list[Message[Any]]], object] | None = getattr(
            self.broker, "enqueue_many", None)
        return many

    def _hand_together(self, table: Table, entries: list[Item],
                       many: Callable[[list[Message[Any]]], object]
                       ) -> tuple[list[tuple[Item, list[str]]], bool]:
        """Send the entries to every service each is owed to, a round trip for
        ``_TOGETHER`` entries: those handed (each with all it is owed to), and whether the
        broker was reachable."""
        handed: list[tuple[Item, list[str]]] = []
        for start in range(0, len(entries), _TOGETHER):
            chunk = [(entry, owed_to(entry)) for entry in entries[start:start + _TOGETHER]]
            try:
                many([self._message(table, entry, service)
                      for entry, owed in chunk for service in owed])
            except Exception as exc:  # broker down: the sweep will try again
                self._unreachable(table, exc)
                return handed, False
            handed.extend(chunk)
        return handed, True

    def _unreachable(self, table: Table, exc: Exception) -> None:
        # Every commit and every sweep meets a broker that is down: one line a period
        # says it, not one per attempt.
        self.failures.warning("dispatch", "outbox dispatch failed; will retry",
                              table=table.name, error=type(exc).__name__,
                              detail=str(exc)[:200])

    def _hand(self, table: Table, entry: Item) -> tuple[list[str], bool]:
        """Send an entry to every service it is owed to, one message at a time (a queue
        may be missing): who got it, and whether the broker was reachable."""
        from dramatiq.errors import QueueNotFound

        owed = owed_to(entry)
        got: list[str] = []
        try:
            for service in owed:
                try:
                    self._send(table, entry, service)
                except QueueNotFound:
                    # One consumer's queue is missing (its service not loaded in this
                    # process): it waits for the sweep, but must not hold up the others.
                    log.warning("outbox dispatch: no such queue", extra={"fields": {
                        "table": table.name, "sk": entry["sk"], "service": service}})
                    continue
                got.append(service)
        except Exception as exc:  # broker down: the sweep will try again
            self._unreachable(table, exc)
            return got, False
        return got, True

    def _send(self, table: Table, entry: Item, service: str) -> None:
        self.broker.enqueue(self._message(table, entry, service))

    def _queue(self, entry: Item, service: str) -> str:
        queue: str | None = entry.get("queue")
        if not queue:
            return queue_of(service)
        if queue not in self._declared:
            # A job's queue of its own: a process that relays outboxes of services it does
            # not run (the stream relay, the scheduler's sweep) never declared it.
            self.broker.declare_queue(queue)
            self._declared.add(queue)
        return queue

    def _message(self, table: Table, entry: Item, service: str) -> Message[Any]:
        from dramatiq import Message

        event = entry["event"]
        return Message(
            queue_name=self._queue(entry, service),
            actor_name=entry.get("actor") or actor_of(service),
            args=(event,),
            kwargs={},
            options={
                "correlation_id": event.get("correlation_id"),
                "outbox": [table.name, entry["sk"], service],
            },
            message_id=uuid_text(),
        )

    def _settle(self, table: Table, handed: list[tuple[Item, list[str]]]) -> None:
        """Record who got the entries, in one transaction for all of a commit's entries
        (one each was most of the cost of a command's commit); if one of them was
        meanwhile acknowledged or re-sent by someone else, one by one, skipping it.

        Not durable (``transact``'s ``durable=False``): a record lost with the store's
        server leaves its entry pending, and the sweep sends it again, which each
        consumer applies once; nothing acknowledged is lost."""
        marks = [(entry, *mark) for entry, got in handed
                 if (mark := self._marked(entry, got)) is not None]
        if not marks:
            return
        try:
            table.transact([write for _, write, _ in marks], durable=False)
            settled = marks
        except ConditionFailed:
            settled = [mark for mark in marks if _transact_if(table, mark[1], durable=False)]
        for entry, _, new in settled:
            if new is not None:
                entry.update(new)

    def _marked(self, entry: Item, got: list[str]) -> tuple[Write, Item | None] | None:
        """What records that ``got`` have the entry; None if nothing is to be recorded."""
        version = entry["version"]
        rest = [s for s in owed_to(entry) if s not in got]
        if self.durable:
            if not rest:
                return Delete(OUTBOX_PK, entry["sk"], version), None
            new = {**entry, "services": rest, "version": version + 1}
            return Put(new, expect_version=version), new
        if rest:  # sent again to all it is owed to, by the sweep, until each has applied it
            return None
        new = {**entry, "version": version + 1, "dispatched_at": iso(self.clock.now())}
        return Put(new, expect_version=version), new

    def pending(self, table: Table, *, min_age: float = 1.0, limit: int = 200) -> list[Item]:
        """Entries due for (re)dispatch: old enough not to race a commit's own dispatch."""
        return pending(table, self.clock.now(), min_age=min_age, limit=limit,
                       redeliver_after=None if self.durable else self.redeliver_after)

    def sweep(self, *, min_age: float = 1.0) -> int:
        self.settle_unsettled()  # what went out is not sent again
        sent = 0
        for table in list(self.tables.values()):
            sent += self.dispatch(table, self.pending(table, min_age=min_age))
        return sent

    def recover(self) -> int:
        """After a restart of the embedded platform nothing in flight survived: resend all."""
        sent = 0
        for table in list(self.tables.values()):
            page = table.query(OUTBOX_PK, limit=10_000, where=[Where("status", "=", "pending")])
            sent += self.dispatch(table, page.items)
        return sent

    def acknowledge(self, table_name: str, sk: str, *, service: str | None = None,
                    dead: bool = False) -> None:
        """``service`` applied the entry (or, ``dead``, gave up on it). ``service`` None: a
        message sent before entries named their services, the entry being its alone."""
        table = self.tables.get(table_name)
        if table is None:
            return
        # Two consumers of one entry may acknowledge it at once: the loser reads it again.
        for _ in range(5):
            entry = table.get(OUTBOX_PK, sk)
            if entry is None:
                return
            owed = entry.get("services")
            if service is not None and owed is not None and service not in owed:
                return  # a repeat
            rest = [s for s in owed or () if s != service] if service is not None else []
            version = entry["version"]
            # Applied by one means it went out: no re-send before the lease runs out.
            left = {**entry, "services": rest, "version": version + 1,
                    "dispatched_at": entry.get("dispatched_at") or iso(self.clock.now())}
            writes: list[Write]
            if dead and rest:  # the others are still owed it: the dead one apart
                writes = [Put(left, expect_version=version),
                          Put({**entry, "sk": f"{sk}#{service}", "services": [service],
                               "status": "dead", "version": 1}, must_not_exist=True)]
            elif dead:
                writes = [Put({**entry, "status": "dead", "version": version + 1},
                              expect_version=version)]
            elif rest:
                writes = [Put(left, expect_version=version)]
            else:
                writes = [Delete(OUTBOX_PK, sk)]
            try:
                table.transact(writes)
                return
            except ConditionFailed:
                continue

    def lag(self) -> dict[str, dict[str, Any]]:
        out: dict[str, dict[str, Any]] = {}
        for name, table in self.tables.items():
            items = table.query(OUTBOX_PK, limit=10_000).items
            pending = [e for e in items if e["status"] == "pending"]
            out[name] = {
                "pending": len(pending),
                "dead": len(items) - len(pending),
                "oldest": pending[0]["created_at"] if pending else None,
            }
        return out


class SweepThread(threading.Thread):
    """Runs the relay's sweep every few seconds until stopped."""

    def __init__(self, relay: Relay, every: float, extra: Sequence[Any] = ()) -> None:
        super().__init__(name="outbox-sweep", daemon=True)
        self.relay = relay
        self.every = every
        self.extra = list(extra)  # other periodic jobs, e.g. reminders that come due
        self.stopping = threading.Event()

    def run(self) -> None:
        while not self.stopping.wait(self.every):
            try:
                self.relay.sweep()
            except Exception:
                log.exception("outbox sweep failed")
            for job in self.extra:
                try:
                    job()
                except Exception:
                    log.exception("periodic job failed")

    def stop(self) -> None:
        self.stopping.set()
