"""The whole request flow over HTTP with the HTTP side (`atende serve`) and the workers
(`atende worker`) as separate processes on a real broker, Redis and RabbitMQ, sharing one
data dir. Every effect another service applies (the follow-ups projection that lets a
message be posted, the timeline entry, the notifications) crosses the broker between the
two processes."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import (
    BROKER_KINDS,
    SHARED_SERVERS,
    approve,
    conclude,
    multipart,
    pdf_bytes,
    setup_service,
    submit,
)
from tests.live import REPO, LiveHarness, Proc, env_for, eventually, serving

pytestmark = [pytest.mark.brokers, SHARED_SERVERS]


@pytest.mark.parametrize("broker_url", BROKER_KINDS, indirect=True)
def test_flow_with_http_and_workers_apart(broker_url: str, tmp_path: Path) -> None:
    data = tmp_path / "var"
    env = env_for(data, broker_url)
    worker = Proc(["worker"], env | {"ATENDE_WORKER_NICE": "5"}, REPO)
    try:
        worker.wait_for("worker running")
        # Below the server's CPU priority, every thread of it, as asked.
        mine = os.getpriority(os.PRIO_PROCESS, 0)
        assert set(_nice_of_threads(worker.popen.pid)) == {min(mine + 5, 19)}
        with serving(["serve"], env) as (server, client):
            assert set(_nice_of_threads(server.popen.pid)) == {mine}
            _walk(LiveHarness(client, data))
    finally:
        assert worker.stop() == 0, "".join(worker.log)[-4000:]


def _nice_of_threads(pid: int) -> list[int]:
    # /proc/<pid>/task/<tid>/stat: the 19th field, counted after the command's parenthesis.
    return [int(stat.read_text().rpartition(")")[2].split()[16])
            for stat in Path(f"/proc/{pid}/task").glob("*/stat")]


def _walk(h: LiveHarness) -> None:
    s = setup_service(h)
    pdf = pdf_bytes()
    rid = submit(h, s, document=pdf)
    approve(h, s, rid)

    # The follow-ups service learns the request is in service only from the worker.
    url = f"/requests/{rid}/followups"

    def posted() -> dict[str, Any]:
        r = h.client.simulate_post(url, json={"body": "Seu pedido está em atendimento."},
                                   headers=s.h("assignee", **{"Idempotency-Key": "fu-1"}))
        assert r.status_code == 201, r.text
        return r.json

    followup = eventually(posted)
    body, ctype = multipart({"body": "Obrigada!"}, [("file", "rg.pdf", pdf)])
    r = h.client.simulate_post(url, body=body, headers=s.h("citizen", **{"Content-Type": ctype}))
    assert r.status_code == 201, r.text

    def timeline_types() -> list[str]:
        r = h.client.simulate_get(f"/requests/{rid}/timeline", headers=s.h("citizen"))
        assert r.status_code == 200, r.text
        types = [e["type"] for e in r.json["items"]]
        assert types.count("FollowupPosted") == 2, types
        return types

    eventually(timeline_types)
    conclude(h, s, rid, pdf=pdf)

    def citizen_notified() -> list[str]:
        items = h.client.simulate_get("/notifications", headers=s.h("citizen")).json["items"]
        kinds = [n["kind"] for n in items]
        assert kinds[0] == "request_concluded", kinds
        return kinds

    kinds = eventually(citizen_notified)
    assert "followup_posted" in kinds
    staff = h.client.simulate_get("/notifications", headers=s.h("assignee")).json["items"]
    assert [n["kind"] for n in staff] == ["followup_posted", "request_assigned"]

    request = h.client.simulate_get(f"/requests/{rid}", headers=s.h("citizen")).json
    assert request["status"] == "concluded"
    assert request["conclusion"]["attachment"] is not None
    assert request["documents"][0]["content_type"] == "application/pdf"
    assert request["last_activity_at"] >= followup["created_at"][:19]
    types = timeline_types()
    assert types[:1] == ["RequestSubmitted"]
    assert types[-1] == "RequestConcluded"
    for t in ("AnalysisStarted", "StepChecked", "RequestApproved"):
        assert t in types
