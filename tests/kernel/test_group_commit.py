"""Group commit: deliveries that arrive together are applied in one transaction
(``shared.combining.Combiner``, ``shared.consumer.apply_together``), and anything a batch
cannot apply as a lone delivery would is left to its own thread."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from shared.clock import FrozenClock
from shared.combining import Combiner
from shared.consumer import (
    APPLIED_PK,
    Delivered,
    EventConsumer,
    _Delivery,
    apply_together,
)
from shared.logs import correlation_id
from shared.messages import Event, FollowupPosted, Party
from shared.outbox import UnitOfWork
from shared.tables import Item, Put, Table, Write
from shared.tables.sqlite import SQLiteDatabase, SQLiteTable
from shared.topology import Topology
from tests.helpers import SHARED_SERVERS
from tests.kernel.table_adapters import ADAPTERS

# -- the combiner -----------------------------------------------------------------------


def test_a_lone_call_is_a_batch_of_one() -> None:
    batches: list[list[int]] = []

    def run(items: Sequence[int]) -> list[int]:
        batches.append(list(items))
        return [i * 10 for i in items]

    combine = Combiner(run)
    assert combine(1) == 10
    assert combine(2) == 20
    assert batches == [[1], [2]]


def _held_first_batch(limit: int = 64) -> tuple[Combiner[int, int], list[list[int]],
                                                threading.Event, threading.Event]:
    """A combiner whose first batch blocks until ``release`` is set, after telling
    ``started``: calls made meanwhile must wait and go together."""
    batches: list[list[int]] = []
    started, release = threading.Event(), threading.Event()

    def run(items: Sequence[int]) -> list[int]:
        batches.append(list(items))
        if len(batches) == 1:
            started.set()
            assert release.wait(10)
        return [i * 10 for i in items]

    return Combiner(run, limit=limit), batches, started, release


def _call_all(combine: Callable[[int], int], items: Sequence[int],
              out: dict[int, int | BaseException]) -> list[threading.Thread]:
    def one(i: int) -> None:
        try:
            out[i] = combine(i)
        except BaseException as exc:  # the test reads it
            out[i] = exc

    threads = [threading.Thread(target=one, args=(i,)) for i in items]
    for t in threads:
        t.start()
    return threads


def _wait_until(check: Callable[[], bool]) -> None:
    deadline = threading.Event()
    for _ in range(2000):
        if check():
            return
        deadline.wait(0.005)
    raise AssertionError("not reached in time")


def _held_then(combine: Combiner[int, int], started: threading.Event,
               release: threading.Event, later: Sequence[int]) -> dict[int, int | BaseException]:
    """Call with 0, whose batch holds until ``release``; meanwhile call with ``later``, all
    waiting before the release; each call's outcome or what it raised."""
    out: dict[int, int | BaseException] = {}
    threads = _call_all(combine, [0], out)
    assert started.wait(10)
    threads += _call_all(combine, later, out)
    _wait_until(lambda: len(combine._waiting) == len(later))
    release.set()
    for t in threads:
        t.join(10)
    assert not any(t.is_alive() for t in threads)
    return out


def test_calls_made_while_a_batch_runs_go_together_and_each_gets_its_own_outcome() -> None:
    combine, batches, started, release = _held_first_batch()
    out = _held_then(combine, started, release, range(1, 6))
    assert batches[0] == [0]
    assert sorted(batches[1]) == [1, 2, 3, 4, 5]  # one batch, led by one of them
    assert out == {i: i * 10 for i in range(6)}


def test_a_batch_never_exceeds_the_limit() -> None:
    combine, batches, started, release = _held_first_batch(limit=2)
    out = _held_then(combine, started, release, range(1, 6))
    assert [len(b) for b in batches] == [1, 2, 2, 1]
    assert out == {i: i * 10 for i in range(6)}


def test_what_a_batch_raises_is_raised_to_each_of_its_callers_and_the_next_one_runs() -> None:
    started, release = threading.Event(), threading.Event()
    calls: list[list[int]] = []

    def run(items: Sequence[int]) -> list[int]:
        calls.append(list(items))
        if len(calls) == 1:
            started.set()
            assert release.wait(10)
            return [0]
        if len(calls) == 2:
            raise RuntimeError("store down")
        return list(items)

    combine: Combiner[int, int] = Combiner(run)
    out = _held_then(combine, started, release, [1, 2])
    assert isinstance(out[1], RuntimeError) and isinstance(out[2], RuntimeError)
    assert combine(7) == 7  # the combiner is not left waiting for a lead
    assert not combine._running


def test_callers_are_woken_even_when_the_leader_is_interrupted() -> None:
    """An exception raised into the leading thread from outside (a time limit) still
    wakes its batch and hands the lead on."""
    started, release = threading.Event(), threading.Event()
    calls: list[list[int]] = []

    class Interrupted(BaseException):
        pass

    def run(items: Sequence[int]) -> list[int]:
        calls.append(list(items))
        if len(calls) == 1:
            started.set()
            assert release.wait(10)
            raise Interrupted
        return list(items)

    combine: Combiner[int, int] = Combiner(run)
    out = _held_then(combine, started, release, [1, 2])
    assert isinstance(out[0], Interrupted) and out[1] == 1 and out[2] == 2


def test_a_leader_interrupted_before_its_batch_hands_the_lead_on() -> None:
    combine, batches, started, release = _held_first_batch()
    out: dict[int, int | BaseException] = {}
    threads = _call_all(combine, [0], out)
    assert started.wait(10)
    threads += _call_all(combine, [1], out)
    _wait_until(lambda: len(combine._waiting) == 1)
    threads += _call_all(combine, [2], out)
    _wait_until(lambda: len(combine._waiting) == 2)
    gather, interrupted = combine._gather, []

    def interrupt_once() -> None:  # the next leader is interrupted while it gathers
        if not interrupted:
            interrupted.append(True)
            raise KeyboardInterrupt
        gather()

    combine._gather = interrupt_once  # type: ignore[method-assign]
    release.set()
    for t in threads:
        t.join(10)
    assert not any(t.is_alive() for t in threads)
    assert out[0] == 0 and isinstance(out[1], KeyboardInterrupt) and out[2] == 20
    assert batches == [[0], [2]] and not combine._waiting and not combine._running


# -- applying a batch -------------------------------------------------------------------


class Recording(SQLiteTable):
    """A table that records its reads and transactions."""

    def __init__(self, path: Path) -> None:
        db = SQLiteDatabase(path)
        db.table("t")
        super().__init__(db, "t")
        self.transactions: list[list[Write]] = []
        self.reads = 0

    def get_many(self, keys: Sequence[tuple[str, str]]) -> list[Item | None]:
        self.reads += 1
        return super().get_many(keys)

    def transact(self, writes: Sequence[Write], *, durable: bool = True) -> None:
        self.transactions.append(list(writes))
        super().transact(writes, durable=durable)


@pytest.fixture
def table(tmp_path: Path) -> Recording:
    t = Recording(tmp_path / "t.db")
    t.transact([Put({"pk": f"REQ#r{n}", "sk": "REQ", "version": 1, "seen": []})
                for n in range(4)])
    t.transactions.clear()
    return t


def _event(rid: str) -> FollowupPosted:
    return FollowupPosted(request_id=rid, followup_id=f"f-{rid}",
                          author=Party(sub="a1", name="Ana"), author_role="attendant")


def _reads(e: Event) -> list[tuple[str, str]]:
    return [(f"REQ#{e.request_id}", "REQ")]


def _effect(uow: UnitOfWork, e: Event) -> dict[str, Any]:
    """The request notes the event, and a timeline entry is put beside it."""
    req = uow.get(f"REQ#{e.request_id}", "REQ")
    assert req is not None
    if e.request_id == "r-poison":
        raise ValueError("cannot apply")
    uow.save({**req, "seen": [*req["seen"], e.id], "version": req["version"] + 1})
    uow.put({"pk": f"REQ#{e.request_id}", "sk": f"TL#{e.id}", "type": e.type})
    return {"entries": 1}


def _together(table: Recording, events: Sequence[Event],
              deliveries: Sequence[_Delivery | None] | None = None) -> list[Any]:
    batch = [Delivered(e, d) for e, d in zip(events, deliveries or [None] * len(events),
                                             strict=True)]
    return apply_together(lambda: UnitOfWork(table, None, FrozenClock(), Topology()), "c",
                          batch, _effect, _reads)


def test_a_batch_is_one_read_and_one_transaction_and_a_repeat_is_seen(
        table: Recording) -> None:
    events = [_event(f"r{n}") for n in range(3)]
    assert _together(table, events) == [(True, {"entries": 1})] * 3
    assert (table.reads, len(table.transactions)) == (1, 1)
    for e in events:
        assert table.get(f"REQ#{e.request_id}", "REQ")["seen"] == [e.id]  # type: ignore[index]
        assert table.get(f"REQ#{e.request_id}", f"TL#{e.id}") is not None
        assert table.get(APPLIED_PK, f"c#{e.id}") is not None
    # Delivered again (with one new event), the repeats change nothing.
    fresh = _event("r3")
    assert _together(table, [*events, fresh]) == [(False, None)] * 3 + [(True, {"entries": 1})]
    assert table.get("REQ#r0", "REQ")["version"] == 2  # type: ignore[index]


def test_a_lone_delivery_is_left_to_the_usual_path(table: Recording) -> None:
    assert _together(table, [_event("r0")]) == [(None, None)]
    assert (table.reads, table.transactions) == (0, [])


def test_an_effect_that_raises_is_left_alone_and_the_others_commit(table: Recording) -> None:
    table.transact([Put({"pk": "REQ#r-poison", "sk": "REQ", "version": 1, "seen": []})])
    table.transactions.clear()
    events = [_event("r0"), _event("r-poison"), _event("r1")]
    outcomes = _together(table, events)
    assert [applied for applied, _ in outcomes] == [True, None, True]
    assert table.get(APPLIED_PK, f"c#{events[1].id}") is None
    assert len(table.transactions) == 1
    assert all(_key(w) != ("REQ#r-poison", "REQ") for w in table.transactions[0])


def test_events_about_one_request_are_not_applied_in_one_batch(table: Recording) -> None:
    first, second = _event("r0"), _event("r0")
    assert [a for a, _ in _together(table, [first, second])] == [True, None]
    assert table.get("REQ#r0", "REQ")["seen"] == [first.id]  # type: ignore[index]


def test_a_failed_commit_leaves_every_delivery_to_its_own_thread(table: Recording) -> None:
    events = [_event("r0"), _event("r1")]
    stale = {"pk": "REQ#r1", "sk": "REQ", "version": 2, "seen": ["elsewhere"]}

    class Racing(UnitOfWork):
        def commit(self) -> None:  # another worker commits r1 between read and commit
            table.transact([Put(stale, expect_version=1)])
            super().commit()

    outcomes = apply_together(lambda: Racing(table, None, FrozenClock(), Topology()), "c",
                              [Delivered(e, None) for e in events], _effect, _reads)
    assert outcomes == [(None, None)] * 2
    assert table.get("REQ#r0", "REQ")["seen"] == []  # type: ignore[index]
    assert table.get(APPLIED_PK, f"c#{events[0].id}") is None


def test_the_crash_guards_counts_are_cleared_in_the_batchs_commit(table: Recording) -> None:
    events = [_event("r0"), _event("r1")]
    counts = [_Delivery("t", "DELIVERY#m0"), _Delivery("other-table", "DELIVERY#m1")]
    table.transact([Put({"pk": APPLIED_PK, "sk": "DELIVERY#m0", "starts": 1})])
    assert [a for a, _ in _together(table, events, counts)] == [True, True]
    assert table.get(APPLIED_PK, "DELIVERY#m0") is None
    assert (counts[0].cleared, counts[1].cleared) == (True, False)


def test_each_effect_runs_in_its_own_deliverys_context(table: Recording) -> None:
    """An effect's log lines carry its own delivery's correlation id, not the id of the
    thread that led the batch."""
    seen: dict[str, str | None] = {}

    def effect(uow: UnitOfWork, e: Event) -> None:
        seen[e.request_id] = correlation_id.get()
        _effect(uow, e)

    batch = []
    for n in range(3):
        token = correlation_id.set(f"corr-{n}")
        batch.append(Delivered(_event(f"r{n}"), None))
        correlation_id.reset(token)
    outcomes = apply_together(lambda: UnitOfWork(table, None, FrozenClock(), Topology()),
                              "c", batch, effect, _reads)
    assert [a for a, _ in outcomes] == [True] * 3
    assert seen == {f"r{n}": f"corr-{n}" for n in range(3)}


def _key(w: Write) -> tuple[str, str]:
    return (w.item["pk"], w.item["sk"]) if isinstance(w, Put) else (w.pk, w.sk)


# -- the consumer, under threads --------------------------------------------------------


def test_deliveries_on_many_threads_are_each_applied_once(tmp_path: Path) -> None:
    db = SQLiteDatabase(tmp_path / "t.db")
    table = db.table("t")
    rids = [f"r{n}" for n in range(40)]
    table.transact([Put({"pk": f"REQ#{r}", "sk": "REQ", "version": 1, "seen": []})
                    for r in rids])
    consumer = EventConsumer("c", frozenset({"FollowupPosted"}),
                             lambda: UnitOfWork(table, None, FrozenClock(), Topology()),
                             _effect, reads=_reads)
    # Two events for each of the first ten requests: a batch must leave the second alone.
    docs = [_event(r).model_dump(mode="json") for r in rids + rids[:10]]
    results: list[bool] = []
    lock = threading.Lock()

    def work(part: list[dict[str, Any]]) -> None:
        for doc in part:
            applied = consumer(doc)
            with lock:
                results.append(applied)

    threads = [threading.Thread(target=work, args=(docs[n::8] * 2,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert results.count(True) == len(docs)  # each event once; its repeat was not applied
    for n, r in enumerate(rids):
        seen = table.get(f"REQ#{r}", "REQ")["seen"]  # type: ignore[index]
        assert len(seen) == (2 if n < 10 else 1)
        assert table.get(f"REQ#{r}", "REQ")["version"] == 1 + len(seen)  # type: ignore[index]


# -- on every table adapter -------------------------------------------------------------


@pytest.fixture(params=[pytest.param(a, marks=SHARED_SERVERS) if a == "postgres" else a
                        for a in sorted(ADAPTERS)])
def any_table(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Table]:
    with ADAPTERS[request.param](tmp_path) as t:
        yield t


def test_a_batch_commits_on_every_adapter(any_table: Table) -> None:
    """Versioned puts, plain puts, new markers and a count's delete, reordered into one
    transaction, as each store takes it; a repeat batch changes nothing."""
    any_table.transact([Put({"pk": f"REQ#r{n}", "sk": "REQ", "version": 1, "seen": []})
                        for n in range(3)] + [Put({"pk": APPLIED_PK, "sk": "DELIVERY#m",
                                                   "starts": 1})])
    events = [_event(f"r{n}") for n in range(3)]
    counts = [_Delivery(any_table.name, "DELIVERY#m"), None, None]

    def run() -> list[Any]:
        return apply_together(
            lambda: UnitOfWork(any_table, None, FrozenClock(), Topology()), "c",
            [Delivered(e, d) for e, d in zip(events, counts, strict=True)], _effect, _reads)

    assert [a for a, _ in run()] == [True, True, True]
    assert [a for a, _ in run()] == [False, False, False]
    for e in events:
        req = any_table.get(f"REQ#{e.request_id}", "REQ")
        assert req is not None and (req["version"], req["seen"]) == (2, [e.id])
        assert any_table.get(f"REQ#{e.request_id}", f"TL#{e.id}") is not None
    assert any_table.get(APPLIED_PK, "DELIVERY#m") is None
