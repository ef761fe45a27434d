"""`kill -9` of `atende dev` on the embedded default: an event committed before the crash
but not yet applied by its consumers still reaches each of them, once, after a restart on
the same data dir; the data and the dev token secret outlive the crash.

To hold the crash window open deterministically, the run that crashes has no worker
threads (``ATENDE_WORKER_THREADS=0``): its in-process broker takes the messages and nobody
applies them, exactly the state a crash between commit and consumption leaves behind."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from infra.services import SERVICES
from tests.helpers import Setup, approve, pdf_bytes, setup_service, submit
from tests.live import REPO, LiveClient, LiveHarness, Proc, env_for, eventually


@contextmanager
def crashing_dev(data: Path, **extra: str) -> Iterator[LiveClient]:
    """`atende dev` on ``data``, ended by SIGKILL whatever happens."""
    proc = Proc(["dev", "--host", "127.0.0.1", "--port", "0", "--data-dir", str(data)],
                env_for(data, "memory://", **extra), REPO)
    try:
        yield LiveClient(proc.wait_for("listening on").strip().rsplit(" ", 1)[-1])
    finally:
        proc.kill()


def outbox_left(data: Path) -> int:
    """Outbox entries not yet acknowledged by their consumers, over every service."""
    with sqlite3.connect(data / "atende.db") as db:
        return sum(db.execute(f'SELECT count(*) FROM "{name}" WHERE pk = \'OUTBOX\'')
                   .fetchone()[0] for name in SERVICES)


def kinds(h: LiveHarness, s: Setup, who: str) -> list[str]:
    r = h.client.simulate_get("/notifications", headers=s.h(who))
    assert r.status_code == 200, r.text
    return [n["kind"] for n in r.json["items"]]


def timeline(h: LiveHarness, s: Setup, rid: str) -> list[dict[str, Any]]:
    r = h.client.simulate_get(f"/requests/{rid}/timeline", headers=s.h("citizen"))
    assert r.status_code == 200, r.text
    return list(r.json["items"])


def settled(data: Path) -> bool:
    # With nothing left in the outbox nothing can be delivered again, so what the
    # consumers have applied by now is final.
    return outbox_left(data) == 0


def test_events_committed_before_kill_9_arrive_once_after_restart(tmp_path: Path) -> None:
    data = tmp_path / "var"

    # Run 1 crashes right after an approval: its notifications are not out yet.
    with crashing_dev(data, ATENDE_WORKER_THREADS="0") as client:
        secret = (data / "dev-jwt-secret").read_text()
        h = LiveHarness(client, data)
        s = setup_service(h)
        rid = submit(h, s, document=pdf_bytes())
        approve(h, s, rid)
        # (The assignee's own inbox cannot be read yet either: the followups service has
        # not learnt the roster, whose events are held with the rest.)
        assert kinds(h, s, "citizen") == []
        assert outbox_left(data) > 0

    # Run 2 recovers them, and lets the follow-ups service see the request in service.
    with crashing_dev(data) as client:
        h.client = client  # tokens signed before the crash still hold
        assert eventually(lambda: kinds(h, s, "assignee") == ["request_assigned"])
        eventually(lambda: settled(data))
        assert kinds(h, s, "assignee") == ["request_assigned"]
        assert kinds(h, s, "citizen") == ["request_approved", "analysis_started"]

    # Run 3 crashes right after a follow-up is posted: no timeline entry, no notice yet.
    with crashing_dev(data, ATENDE_WORKER_THREADS="0") as client:
        h.client = client
        r = h.client.simulate_post(f"/requests/{rid}/followups", headers=s.h("citizen"),
                                   json={"body": "Quando fica pronto?"})
        assert r.status_code == 201, r.text
        followup_id = r.json["id"]
        assert "FollowupPosted" not in [e["type"] for e in timeline(h, s, rid)]

    # Run 4: the timeline entry and the assignee's notice arrive, once each.
    with crashing_dev(data) as client:
        h.client = client
        eventually(lambda: "FollowupPosted" in [e["type"] for e in timeline(h, s, rid)])
        eventually(lambda: settled(data))
        posted = [e for e in timeline(h, s, rid) if e["type"] == "FollowupPosted"]
        assert [e["data"]["followup_id"] for e in posted] == [followup_id]
        assert kinds(h, s, "assignee") == ["followup_posted", "request_assigned"]
        request = h.client.simulate_get(f"/requests/{rid}", headers=s.h("citizen")).json
        assert request["status"] == "in_service"
        assert [d["content_type"] for d in request["documents"]] == ["application/pdf"]
        assert (data / "dev-jwt-secret").read_text() == secret
