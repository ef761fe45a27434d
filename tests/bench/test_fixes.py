"""The performance fixes of issue 8 keep their contracts: a remembered token is still only
good until it expires, one writer at a time loses no write, and a command's outbox
entries are settled together but each on its own when one was already acknowledged."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from dramatiq.brokers.stub import StubBroker

from shared import identity
from shared.clock import FrozenClock
from shared.errors import Unauthorized
from shared.identity import Verifier, mint
from shared.messages import FollowupPosted, Party
from shared.outbox import OUTBOX_PK, Relay, UnitOfWork
from shared.tables import Put
from shared.tables.sqlite import SQLiteDatabase
from shared.topology import Topology

SECRET = "s" * 48


def _verifier() -> Verifier:
    return Verifier(issuer="atende-dev", audience="atende", secret=SECRET)


def _token(sub: str = "a1", ttl: int = 60) -> str:
    return mint(SECRET, sub=sub, roles=["attendant"], issuer="atende-dev", audience="atende",
                org="pref", unit="atend", ttl=ttl)


def test_a_remembered_token_is_refused_once_it_expires() -> None:
    v = Verifier(issuer="atende-dev", audience="atende", secret=SECRET, leeway=0)
    token = _token(ttl=1)
    first = v.verify(token)
    assert v.verify(token) is first  # served from memory
    exp = v._verified[token][1]
    while time.time() <= exp + 0.05:  # the token's own clock, not a speed measure
        time.sleep(0.05)
    with pytest.raises(Unauthorized):
        v.verify(token)


def test_a_forged_token_is_never_served_from_memory() -> None:
    v = _verifier()
    token = _token()
    v.verify(token)
    head, payload, sig = token.split(".")
    with pytest.raises(Unauthorized):
        v.verify(f"{head}.{payload}.{sig[:-2]}AA")
    other = mint("x" * 48, sub="a1", roles=["attendant"], issuer="atende-dev",
                 audience="atende", ttl=60)
    with pytest.raises(Unauthorized):
        v.verify(other)


def test_the_memory_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(identity, "VERIFIED_CACHE_SIZE", 3)
    v = _verifier()
    tokens = [_token(sub=f"u{n}") for n in range(5)]
    for t in tokens:
        v.verify(t)
    assert len(v._verified) == 3 and tokens[0] not in v._verified
    assert v.verify(tokens[0]).sub == "u0"


def test_concurrent_writers_from_threads_lose_nothing(tmp_path: Path) -> None:
    db = SQLiteDatabase(tmp_path / "w.db")
    table = db.table("t")

    def write(n: int) -> None:
        for k in range(50):
            table.transact([Put({"pk": f"P{n}", "sk": f"{k:03}", "v": k})])

    threads = [threading.Thread(target=write, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(len(table.query(f"P{n}", limit=100).items) for n in range(6)) == 300
    assert (tmp_path / "w.db.writer").exists()


def _entries(table_name: str, db: SQLiteDatabase, n: int) -> tuple[UnitOfWork, Relay]:
    table = db.table(table_name)
    relay = Relay(StubBroker(), FrozenClock(), durable=False)
    for q in ("requests-events", "followups-events"):
        relay.broker.declare_queue(q)
    relay.watch(table)
    uow = UnitOfWork(table, None, FrozenClock(),
                     Topology({"FollowupPosted": ("requests", "followups")}))
    for k in range(n):
        uow.publish(FollowupPosted(request_id=f"r{k}", followup_id="f",
                                   author=Party(sub="c"), author_role="citizen"))
    uow.commit()
    return uow, relay


def test_a_commits_entries_are_marked_together(tmp_path: Path) -> None:
    db = SQLiteDatabase(tmp_path / "o.db")
    uow, relay = _entries("p", db, 2)
    assert relay.dispatch(uow.table, uow.entries) == 2
    stored = uow.table.query(OUTBOX_PK, limit=10).items
    assert len(stored) == 2 and all(e["dispatched_at"] and e["version"] == 2 for e in stored)
    assert relay.broker.queues["requests-events"].qsize() == 2


def test_an_entry_acknowledged_meanwhile_does_not_block_the_others(tmp_path: Path) -> None:
    db = SQLiteDatabase(tmp_path / "o.db")
    uow, relay = _entries("p", db, 2)
    gone = uow.entries[0]["sk"]
    # Its consumers were faster than the relay's bookkeeping.
    relay.acknowledge("p", gone, service="requests")
    relay.acknowledge("p", gone, service="followups")
    assert relay.dispatch(uow.table, uow.entries) == 2
    stored = {e["sk"]: e for e in uow.table.query(OUTBOX_PK, limit=10).items}
    assert gone not in stored and len(stored) == 1
    assert all(e["version"] == 2 for e in stored.values())
