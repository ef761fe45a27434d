"""Outbox, relay and idempotent consumers, on the in-process broker and a failing one."""

from __future__ import annotations

import threading
from collections import Counter
from pathlib import Path
from typing import Any

import dramatiq
import pytest
from dramatiq.brokers.stub import StubBroker

from shared.acks import DeliveryAcks
from shared.broker import declare_consumer
from shared.clock import FrozenClock
from shared.consumer import apply_once
from shared.messages import Event, FollowupPosted, Party
from shared.outbox import OUTBOX_PK, Relay, UnitOfWork
from shared.settings import Settings
from shared.tables import ConditionFailed, Put
from shared.tables.sqlite import SQLiteDatabase
from shared.topology import Topology
from tests.live import eventually


def posted(request_id: str = "r1") -> FollowupPosted:
    return FollowupPosted(request_id=request_id, followup_id="f1",
                          author=Party(sub="c1", name="Ana"), author_role="citizen")


# A follow-up goes to two consumers, as on the platform.
TOPOLOGY = Topology({"FollowupPosted": ("requests", "followups")})


class Rig:
    """A producer table, two consumer tables, a broker and worker: the outbox end to end."""

    def __init__(self, tmp: Path, *, durable: bool, fail_broker: bool = False) -> None:
        self.settings = Settings(data_dir=tmp, max_retries=1, min_backoff_ms=1, max_backoff_ms=5)
        self.clock = FrozenClock()
        db = SQLiteDatabase(tmp / "t.db")
        self.producer = db.table("producer")
        self.consumer_tables = {"requests": db.table("c_requests"),
                                "followups": db.table("c_followups")}
        self.broker = StubBroker()
        self.relay = Relay(self.broker, self.clock, durable=durable, redeliver_after=30)
        self.relay.watch(self.producer)
        if not durable:
            self.broker.add_middleware(DeliveryAcks(self.relay))
        self.applied: Counter[tuple[str, str]] = Counter()
        self.calls: Counter[str] = Counter()
        self.poison: set[str] = set()
        self.failing: set[str] = set()  # services whose consumer fails every event
        for service in ("requests", "followups"):
            declare_consumer(self.broker, service, self._handler(service), self.settings)
        if fail_broker:
            self._real_enqueue = self.broker.enqueue
            self.broker.enqueue = self._down  # type: ignore[method-assign]
        self.worker = dramatiq.Worker(self.broker, worker_threads=2, worker_timeout=20)

    def _down(self, *a: Any, **k: Any) -> Any:
        raise ConnectionError("broker down")

    def broker_up(self) -> None:
        self.broker.enqueue = self._real_enqueue  # type: ignore[method-assign]

    def _handler(self, service: str) -> Any:
        table = self.consumer_tables[service]

        def effect(uow: UnitOfWork, event: Event) -> None:
            uow.put({"pk": "EFFECT", "sk": event.id, "version": 1})

        def handle(doc: dict[str, Any]) -> None:
            self.calls[service] += 1
            if doc["request_id"] in self.poison or service in self.failing:
                raise RuntimeError("poison")
            event = Event.parse(doc)
            # Two threads may run the effect for one event at once; only one commits.
            if apply_once(lambda: UnitOfWork(table, None, self.clock, TOPOLOGY), service, event,
                          effect):
                self.applied[(service, event.id)] += 1

        return handle

    def publish(self, event: Event) -> None:
        with UnitOfWork(self.producer, self.relay, self.clock, TOPOLOGY) as uow:
            uow.put({"pk": "STATE", "sk": event.id, "version": 1})
            uow.publish(event)
            uow.commit()

    def run(self) -> None:
        self.worker.start()
        for q in self.broker.get_declared_queues():
            self.broker.join(q, fail_fast=False)
        self.worker.join()
        self.worker.stop()

    def outbox(self) -> list[dict[str, Any]]:
        return self.producer.query(OUTBOX_PK).items

    def effects(self, service: str) -> int:
        return len(self.consumer_tables[service].query("EFFECT").items)


@pytest.mark.parametrize("durable", [True, False])
def test_commit_dispatches_to_every_consumer_and_empties_the_outbox(tmp_path: Path,
                                                                    durable: bool) -> None:
    rig = Rig(tmp_path, durable=durable)
    event = posted()
    rig.publish(event)
    # One entry for both consumers, one delivery to each: a durable broker holds them once
    # it has them; with the in-process broker the entry stays until both applied it.
    assert len(rig.outbox()) == (0 if durable else 1)
    assert rig.broker.queues["requests-events"].qsize() == 1
    assert rig.broker.queues["followups-events"].qsize() == 1
    rig.run()
    assert rig.effects("requests") == 1 and rig.effects("followups") == 1
    assert rig.outbox() == []


def test_nothing_is_written_unless_committed(tmp_path: Path) -> None:
    rig = Rig(tmp_path, durable=True)
    with UnitOfWork(rig.producer, rig.relay, rig.clock, TOPOLOGY) as uow:
        uow.put({"pk": "STATE", "sk": "x", "version": 1})
        uow.publish(posted())
    assert rig.producer.get("STATE", "x") is None and rig.outbox() == []


def test_broker_outage_keeps_events_until_the_sweep_delivers(tmp_path: Path) -> None:
    rig = Rig(tmp_path, durable=True, fail_broker=True)
    rig.publish(posted())
    assert len(rig.outbox()) == 1  # accepted and committed while the broker is down
    assert rig.relay.sweep() == 0
    rig.broker_up()
    rig.clock.advance(seconds=5)
    assert rig.relay.sweep() == 1
    rig.run()
    assert rig.effects("requests") == 1 and rig.outbox() == []


def test_in_process_broker_loses_nothing_across_a_crash(tmp_path: Path) -> None:
    """Handed to the in-process broker but never applied (the process died): the entry
    stays, and recovery on the next start re-sends it."""
    rig = Rig(tmp_path, durable=False)
    rig.publish(posted())
    assert all(e["dispatched_at"] for e in rig.outbox())
    # A new process: a fresh broker knows nothing; the store still does.
    again = Rig(tmp_path, durable=False)
    assert again.relay.recover() == 1
    again.run()
    assert again.effects("requests") == 1 and again.effects("followups") == 1
    assert again.outbox() == []


def test_unacknowledged_in_process_delivery_is_resent_after_the_lease(tmp_path: Path) -> None:
    rig = Rig(tmp_path, durable=False)
    rig.publish(posted())
    rig.clock.advance(seconds=10)
    assert rig.relay.sweep() == 0  # lease not over: still in flight
    rig.clock.advance(seconds=30)
    assert rig.relay.sweep() == 1
    rig.run()  # both deliveries to each arrive; applied once
    assert rig.effects("requests") == 1 and rig.effects("followups") == 1
    assert rig.outbox() == []


def test_duplicate_delivery_is_applied_once(tmp_path: Path) -> None:
    rig = Rig(tmp_path, durable=True)
    event = posted()
    for _ in range(3):
        rig.publish(event)  # same event id, three times
    rig.run()
    assert rig.calls["requests"] == 3
    assert rig.applied[("requests", event.id)] == 1 and rig.effects("requests") == 1


def test_poison_message_retries_then_dead_letters_and_is_marked(tmp_path: Path) -> None:
    rig = Rig(tmp_path, durable=False)
    rig.poison.add("bad")
    rig.publish(posted("bad"))
    rig.run()
    assert rig.calls["requests"] == 2  # first try + max_retries=1
    assert len(rig.broker.dead_letters) == 2
    assert {e["status"] for e in rig.outbox()} == {"dead"}
    rig.clock.advance(seconds=60)
    assert rig.relay.sweep() == 0  # dead letters are not re-sent by the sweep


def test_poison_for_one_consumer_leaves_the_other_its_delivery(tmp_path: Path) -> None:
    """In process, one consumer dead-letters an event the other applies: the dead delivery
    is set apart, listed as dead, and not sent again; the applied one is done."""
    rig = Rig(tmp_path, durable=False)
    rig.failing.add("followups")
    rig.publish(posted())
    rig.run()
    assert rig.effects("requests") == 1 and rig.effects("followups") == 0
    assert [(e["services"], e["status"]) for e in rig.outbox()] == [(["followups"], "dead")]
    rig.clock.advance(seconds=60)
    assert rig.relay.sweep() == 0


def test_a_missing_queue_holds_back_only_its_consumer(tmp_path: Path) -> None:
    rig = Rig(tmp_path, durable=True)
    del rig.broker.queues["followups-events"]  # that service is not loaded here
    rig.publish(posted())
    [entry] = rig.outbox()
    assert entry["services"] == ["followups"]  # the requests service has it
    assert rig.broker.queues["requests-events"].qsize() == 1
    rig.broker.declare_queue("followups-events")
    rig.clock.advance(seconds=5)
    assert rig.relay.sweep() == 1
    assert rig.broker.queues["requests-events"].qsize() == 1  # not sent twice
    rig.run()
    assert rig.effects("requests") == 1 and rig.effects("followups") == 1
    assert rig.outbox() == []


def test_a_broker_lost_between_two_consumers_owes_the_second_only(tmp_path: Path) -> None:
    rig = Rig(tmp_path, durable=True)
    real, sends = rig.broker.enqueue, []

    def once(message: Any, **kw: Any) -> Any:
        if sends:
            raise ConnectionError("broker down")
        sends.append(message.queue_name)
        return real(message, **kw)

    rig.broker.enqueue = once  # type: ignore[method-assign]
    rig.publish(posted())
    [entry] = rig.outbox()
    assert entry["services"] == ["followups"] and sends == ["requests-events"]
    rig.broker.enqueue = real  # type: ignore[method-assign]
    rig.clock.advance(seconds=5)
    assert rig.relay.sweep() == 1
    rig.run()
    assert rig.calls == Counter({"requests": 1, "followups": 1})
    assert rig.outbox() == []


@pytest.mark.parametrize("durable", [True, False])
def test_entries_stored_one_per_consumer_still_go_out(tmp_path: Path, durable: bool) -> None:
    """A deployment's pending entries written before an entry named all its consumers (one
    per service, ``service``), and an in-process delivery's acknowledgment as it was sent
    then (without the service)."""
    rig = Rig(tmp_path, durable=durable)
    event = posted()
    for service in ("requests", "followups"):
        rig.producer.transact([Put({
            "pk": OUTBOX_PK, "sk": f"2026-12-01T00:00:00+00:00#{event.id}#{service}",
            "version": 1, "service": service, "event": event.model_dump(mode="json"),
            "status": "pending", "dispatched_at": None,
            "created_at": "2026-12-01T00:00:00+00:00"}, must_not_exist=True)])
    assert rig.relay.sweep() == 2
    if not durable:  # acknowledged as a message sent before the change would be
        rig.relay.acknowledge("producer", f"2026-12-01T00:00:00+00:00#{event.id}#requests")
        assert [e["service"] for e in rig.outbox()] == ["followups"]
    rig.run()
    assert rig.effects("requests") == 1 and rig.effects("followups") == 1
    assert rig.outbox() == []


def test_lag_reports_pending_and_dead(tmp_path: Path) -> None:
    rig = Rig(tmp_path, durable=True, fail_broker=True)
    rig.publish(posted())
    lag = rig.relay.lag()["producer"]
    assert lag["pending"] == 1 and lag["dead"] == 0 and lag["oldest"]


def test_a_write_conflict_is_read_and_applied_again_not_left_to_the_broker(tmp_path: Path
                                                                         ) -> None:
    """Another event about the same thing commits between the effect's read and its commit:
    the effect runs again on what is stored now, and both changes are kept."""
    table = SQLiteDatabase(tmp_path / "t.db").table("c")
    clock = FrozenClock()
    table.transact([Put({"pk": "COUNTER", "sk": "c", "version": 1, "n": 0},
                        must_not_exist=True)])
    runs = 0

    def bump(uow: UnitOfWork, event: Event) -> None:
        nonlocal runs
        runs += 1
        item = uow.get("COUNTER", "c")
        assert item is not None
        if runs == 1:  # a concurrent writer wins the race once
            table.transact([Put({**item, "version": item["version"] + 1, "n": item["n"] + 10},
                                expect_version=item["version"])])
        uow.save({**item, "version": item["version"] + 1, "n": item["n"] + 1})

    assert apply_once(lambda: UnitOfWork(table, None, clock, TOPOLOGY), "c", posted(), bump)
    assert runs == 2
    assert table.get("COUNTER", "c")["n"] == 11  # both writers' changes


def test_a_conflict_that_persists_is_raised_for_the_broker_to_retry(tmp_path: Path) -> None:
    table = SQLiteDatabase(tmp_path / "t.db").table("c")
    clock = FrozenClock()
    event = posted()

    def always_stale(uow: UnitOfWork, e: Event) -> None:
        uow.put({"pk": "X", "sk": "x", "version": 2}, expect_version=1)  # never stored

    with pytest.raises(ConditionFailed):
        apply_once(lambda: UnitOfWork(table, None, clock, TOPOLOGY), "c", event, always_stale,
                   attempts=3)
    assert table.get("APPLIED", f"c#{event.id}") is None


# --- the dispatcher thread -----------------------------------------------------------------


def test_with_a_dispatcher_a_commit_does_not_wait_for_the_broker(tmp_path: Path) -> None:
    rig = Rig(tmp_path, durable=True)
    gate, inside = threading.Event(), threading.Event()
    real = rig.broker.enqueue

    def slow(message: Any, **kw: Any) -> Any:
        inside.set()
        assert gate.wait(10)
        return real(message, **kw)

    rig.broker.enqueue = slow  # type: ignore[method-assign]
    rig.relay.start_dispatcher()
    rig.publish(posted("r1"))  # returns while the broker still holds the first send
    assert inside.wait(5) and len(rig.outbox()) == 1
    for n in range(2, 5):
        rig.publish(posted(f"r{n}"))
    gate.set()
    rig.relay.stop_dispatcher()  # sends what waits, then ends
    assert rig.outbox() == []
    assert rig.broker.queues["requests-events"].qsize() == 4
    rig.run()
    assert rig.effects("requests") == 4 and rig.effects("followups") == 4


def test_commits_waiting_together_go_out_side_by_side(tmp_path: Path) -> None:
    """A durable broker's sends are recorded later: each waiting commit goes to a free
    sending thread of its own, none waits behind another's send."""
    rig = Rig(tmp_path, durable=True)
    together = threading.Barrier(4, timeout=10)  # the four threads' sends, at once
    real = rig.broker.enqueue

    def meet(message: Any, **kw: Any) -> Any:
        if message.queue_name == "requests-events":
            together.wait()
        return real(message, **kw)

    rig.broker.enqueue = meet  # type: ignore[method-assign]
    rig.relay.start_dispatcher()
    for n in range(4):
        rig.publish(posted(f"r{n}"))
    rig.relay.stop_dispatcher()
    assert not together.broken
    assert rig.outbox() == [] and rig.broker.queues["requests-events"].qsize() == 4


def test_what_went_out_is_recorded_without_waiting_for_the_stores_disk(tmp_path: Path
                                                                      ) -> None:
    """Lost with the store's server, such a record leaves its entry to the sweep, which
    sends it again to consumers that apply it once: the command's own commit is durable,
    the record of its sending need not be."""
    rig = Rig(tmp_path, durable=True)
    commits: list[tuple[list[str], bool]] = []
    transact = rig.producer.transact

    def recorded(writes: Any, *, durable: bool = True) -> None:
        commits.append(([type(w).__name__ for w in writes], durable))
        transact(writes, durable=durable)

    rig.producer.transact = recorded  # type: ignore[method-assign]
    rig.publish(posted())
    assert commits == [(["Put", "Put"], True), (["Delete"], False)]
    assert rig.outbox() == []


def test_a_dispatcher_facing_an_outage_leaves_everything_to_the_sweep(tmp_path: Path) -> None:
    rig = Rig(tmp_path, durable=True, fail_broker=True)
    rig.relay.start_dispatcher()
    for n in range(3):
        rig.publish(posted(f"r{n}"))
    rig.relay.stop_dispatcher()
    assert len(rig.outbox()) == 3  # committed, not sent, not lost
    rig.broker_up()
    rig.clock.advance(seconds=5)
    assert rig.relay.sweep() == 3
    rig.run()
    assert rig.effects("requests") == 3 and rig.outbox() == []


def test_what_a_dispatcher_sent_is_recorded_later_and_never_swept_again(tmp_path: Path
                                                                       ) -> None:
    rig = Rig(tmp_path, durable=True)
    rig.relay.start_dispatcher(settle_every=3600)  # not by itself within this test
    for n in range(3):
        rig.publish(posted(f"r{n}"))
    eventually(lambda: rig.broker.queues["followups-events"].qsize() == 3, timeout=10,
               every=0.01)
    assert len(rig.outbox()) == 3  # sent, not yet recorded as sent
    rig.clock.advance(seconds=5)
    assert rig.relay.sweep() == 0  # it records them first: none goes out twice
    assert rig.outbox() == [] and rig.broker.queues["requests-events"].qsize() == 3
    rig.relay.stop_dispatcher()
    rig.run()
    assert rig.effects("requests") == 3 and rig.effects("followups") == 3


def test_a_broker_taking_many_gets_the_commits_that_waited_in_one_call(tmp_path: Path
                                                                       ) -> None:
    """Redis takes any number of messages in one round trip: its one sending thread sends
    the commits that came in while it was busy together, each to all its consumers."""
    rig = Rig(tmp_path, durable=True)
    calls: list[list[tuple[str, str]]] = []
    gate, inside = threading.Event(), threading.Event()

    def many(messages: list[Any]) -> list[Any]:
        calls.append([(m.queue_name, m.options["outbox"][2]) for m in messages])
        inside.set()
        assert gate.wait(10)
        return [rig.broker.enqueue(m) for m in messages]

    rig.broker.enqueue_many = many  # type: ignore[attr-defined]
    rig.relay.start_dispatcher()
    rig.publish(posted("r1"))
    assert inside.wait(5)
    for n in range(2, 5):
        rig.publish(posted(f"r{n}"))
    gate.set()
    rig.relay.stop_dispatcher()
    assert [len(c) for c in calls] == [2, 6]  # the first commit; the three that waited
    assert sorted(set(calls[1])) == [("followups-events", "followups"),
                                     ("requests-events", "requests")]
    assert rig.outbox() == []
    rig.run()
    assert rig.effects("requests") == 4 and rig.effects("followups") == 4


def test_a_broker_taking_many_that_is_down_leaves_everything_to_the_sweep(tmp_path: Path
                                                                          ) -> None:
    rig = Rig(tmp_path, durable=True)
    down = True

    def many(messages: list[Any]) -> list[Any]:
        if down:
            raise ConnectionError("broker down")
        return [rig.broker.enqueue(m) for m in messages]

    rig.broker.enqueue_many = many  # type: ignore[attr-defined]
    rig.relay.start_dispatcher()
    for n in range(3):
        rig.publish(posted(f"r{n}"))
    rig.relay.stop_dispatcher()
    assert len(rig.outbox()) == 3  # committed, not sent, not lost
    down = False
    rig.clock.advance(seconds=5)
    assert rig.relay.sweep() == 3
    rig.run()
    assert rig.effects("requests") == 3 and rig.effects("followups") == 3
    assert rig.outbox() == []
