"""The whole request flow over HTTP with the HTTP side (`atende serve`) and the workers
(`atende worker`) as separate processes on a real broker, Redis and RabbitMQ, sharing one
data dir. Every effect another service applies (the follow-ups projection that lets a
message be posted, the timeline entry, the notifications) crosses the broker between the
two processes."""

from __future__ import annotations

import fcntl
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import (
    AMQP_URL,
    SHARED_SERVERS,
    approve,
    conclude,
    multipart,
    pdf_bytes,
    redis_db,
    setup_service,
    submit,
)
from tests.live import REPO, LiveHarness, Proc, env_for, eventually, serving

pytestmark = [pytest.mark.brokers, SHARED_SERVERS]

# A Redis db of its own, so FLUSHDB touches nothing but this test's queues.
REDIS_DB = 13


def _redis_url() -> str:
    return redis_db(REDIS_DB)


def _queue_names() -> set[str]:
    """Every queue the platform declares, with Dramatiq's delay and dead-letter queues."""
    from dramatiq.brokers.stub import StubBroker
    from dramatiq.common import dq_name, q_name, xq_name

    from infra.bootstrap import build
    from shared.settings import Settings

    with tempfile.TemporaryDirectory() as tmp:
        broker = StubBroker()
        build(Settings(data_dir=Path(tmp)), broker=broker, with_http=False)
        bases = {q_name(q) for q in broker.get_declared_queues()}
        broker.close()
    return {name(q) for q in bases for name in (q_name, dq_name, xq_name)}


def _clean_redis() -> str:
    import redis

    url = _redis_url()
    client = redis.Redis.from_url(url)
    client.flushdb()
    client.close()
    return url


def _clean_rabbitmq() -> str:
    import pika

    conn = pika.BlockingConnection(pika.URLParameters(AMQP_URL))
    channel = conn.channel()
    for name in sorted(_queue_names()):
        channel.queue_delete(name)
    conn.close()
    return AMQP_URL


CLEANERS = {"redis": _clean_redis, "rabbitmq": _clean_rabbitmq}


@pytest.fixture
def broker_url(request: pytest.FixtureRequest) -> Iterator[str]:
    """A broker with none of our queues' old messages, held alone: two runs of this suite
    on one machine would otherwise take each other's messages (queues are named by
    service, and each run has its own database)."""
    with open("/tmp/atende-e2e-brokers.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield CLEANERS[request.param]()


@pytest.mark.parametrize("broker_url", sorted(CLEANERS), indirect=True)
def test_flow_with_http_and_workers_apart(broker_url: str, tmp_path: Path) -> None:
    data = tmp_path / "var"
    env = env_for(data, broker_url)
    worker = Proc(["worker"], env, REPO)
    try:
        worker.wait_for("worker running")
        with serving(["serve"], env) as (_, client):
            _walk(LiveHarness(client, data))
    finally:
        assert worker.stop() == 0, "".join(worker.log)[-4000:]


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
