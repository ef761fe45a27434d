"""The crash guard in one process: what a worker killed under a message leaves behind (an
unfinished start in the consumer's table) is seeded directly, then the message is sent."""

from __future__ import annotations

from datetime import UTC, datetime

from infra import ops
from shared.clock import iso
from shared.consumer import APPLIED_PK, DELIVERY_PREFIX
from shared.crash_guard import CRASH_LIMIT
from shared.outbox import OUTBOX_PK
from shared.tables import Put

EVENT = {"type": "FollowupPosted", "id": "ev-guard", "request_id": "no-such-request",
         "occurred_at": "2026-01-01T00:00:00+00:00", "followup_id": "f1",
         "author": {"sub": "ana", "name": "Ana"}, "author_role": "citizen",
         "attachments": 0}


def _entry(harness) -> str:
    """An outbox entry of the requests table for the requests consumer; its sk."""
    sk = f"{iso(datetime.now(UTC))}#guard#requests"
    harness.table("requests").transact([Put(
        {"pk": OUTBOX_PK, "sk": sk, "version": 1, "service": "requests", "event": EVENT,
         "status": "pending", "dispatched_at": None, "created_at": iso(datetime.now(UTC))},
        must_not_exist=True)])
    return sk


def _crashed(harness, sk: str, times: int) -> str:
    count_sk = f"{DELIVERY_PREFIX}requests#{sk}"
    harness.table("requests").transact([Put(
        {"pk": APPLIED_PK, "sk": count_sk, "version": 1, "starts": times}, must_not_exist=True)])
    return count_sk


def _send(harness) -> None:
    harness.platform.relay.sweep(min_age=0)
    harness.drain()


def test_a_message_that_killed_its_worker_too_often_is_dead_lettered_then_replayable(harness):
    sk = _entry(harness)
    count_sk = _crashed(harness, sk, CRASH_LIMIT)
    _send(harness)
    settings = harness.platform.settings
    assert [d.id for d in ops.dead_letters(settings)] == [sk]
    assert harness.table("requests").get(OUTBOX_PK, sk)["status"] == "dead"
    assert harness.table("requests").get(APPLIED_PK, "requests#ev-guard") is None  # not run

    assert ops.replay(settings, [sk]) == 1
    assert harness.table("requests").get(APPLIED_PK, count_sk) is None  # a fresh count
    _send(harness)
    assert ops.dead_letters(settings) == []
    assert harness.table("requests").get(OUTBOX_PK, sk) is None  # delivered and applied
    assert harness.table("requests").get(APPLIED_PK, "requests#ev-guard") is not None


def test_a_message_below_the_limit_runs_and_its_count_is_cleared(harness):
    sk = _entry(harness)
    count_sk = _crashed(harness, sk, CRASH_LIMIT - 1)
    _send(harness)
    assert harness.table("requests").get(OUTBOX_PK, sk) is None
    assert harness.table("requests").get(APPLIED_PK, "requests#ev-guard") is not None
    assert harness.table("requests").get(APPLIED_PK, count_sk) is None
    assert harness.dead_letters == []


def test_the_count_is_cleared_by_the_effects_own_transaction(harness, monkeypatch):
    """One write transaction fewer per delivery: the applied marker and the clearing of the
    count commit together, and the guard writes nothing after the run."""
    sk = _entry(harness)
    count_sk = _crashed(harness, sk, 1)
    table = harness.platform.contexts["requests"].table
    seen: list[list[object]] = []
    real = table.transact
    monkeypatch.setattr(table, "transact", lambda writes, **kw: (seen.append(list(writes)),
                                                                 real(writes, **kw))[1])
    _send(harness)
    clearing = [w for w in seen if any(getattr(x, "sk", None) == count_sk
                                       and type(x).__name__ == "Delete" for x in w)]
    assert len(clearing) == 1
    assert any(getattr(x, "item", {}).get("sk") == "requests#ev-guard" for x in clearing[0])
    assert harness.table("requests").get(APPLIED_PK, count_sk) is None
