"""The gateway's own routes: liveness, readiness naming the failing part, Prometheus
metrics with nothing personal in a label, and the docs page served from the platform."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from shared.outbox import OUTBOX_PK
from shared.tables import Put
from tests.helpers import conclude, setup_service, submit, to_state


def test_health_is_a_cheap_liveness_answer(harness: Any) -> None:
    r = harness.client.simulate_get("/health")
    assert r.status_code == 200 and r.json == {"status": "ok"}


def test_ready_checks_store_broker_and_outbox(harness: Any) -> None:
    r = harness.client.simulate_get("/health/ready")
    assert r.status_code == 200, r.text
    assert r.json["status"] == "ready" and r.json["failing"] == []
    assert set(r.json["checks"]) == {"store", "broker", "outbox"}
    assert r.headers["cache-control"] == "no-store"


def test_ready_is_503_naming_a_broker_that_does_not_answer(make_harness: Any) -> None:
    # Nothing listens on port 1: a Redis broker that is down.
    h = make_harness(broker_url="redis://127.0.0.1:1/6")
    r = h.client.simulate_get("/health/ready")
    assert r.status_code == 503, r.text
    assert r.json["failing"] == ["broker"]
    assert r.json["checks"]["broker"]["kind"] == "redis"
    assert "Connection" in r.json["checks"]["broker"]["error"]


def test_ready_is_503_naming_a_store_that_does_not_answer(harness: Any, monkeypatch: Any
                                                         ) -> None:
    import sqlite3

    def broken(*args: Any, **kwargs: Any) -> None:
        raise sqlite3.OperationalError("disk I/O error")

    monkeypatch.setattr(harness.table("reviews"), "get", broken)
    r = harness.client.simulate_get("/health/ready")
    assert r.status_code == 503
    assert r.json["failing"] == ["store", "outbox"]
    assert "disk I/O error" in r.json["checks"]["store"]["error"]


def test_ready_is_503_naming_an_outbox_that_lags(make_harness: Any) -> None:
    h = make_harness(ready_outbox_lag_seconds=30)
    old = (datetime.now(UTC) - timedelta(minutes=5)).isoformat()
    h.table("requests").transact([Put({
        "pk": OUTBOX_PK, "sk": f"{old}#stuck#followups", "version": 1, "service": "nowhere",
        "event": {}, "status": "pending", "dispatched_at": old, "created_at": old})])
    r = h.client.simulate_get("/health/ready")
    assert r.status_code == 503
    assert r.json["failing"] == ["outbox"]
    assert r.json["checks"]["outbox"]["pending"] == 1
    assert r.json["checks"]["outbox"]["oldest_pending_seconds"] >= 299


@pytest.mark.usefixtures("metrics_on")
def test_metrics_off_answer_404_and_count_nothing(make_harness: Any) -> None:
    h = make_harness(metrics=False)
    r = h.client.simulate_get("/metrics")
    assert r.status_code == 404
    assert "ATENDE_METRICS" in r.json["detail"]


def _metrics(h: Any) -> str:
    r = h.client.simulate_get("/metrics")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/plain; version=0.0.4")
    return r.text


def test_metrics_count_routes_commands_events_effects_outbox_and_screening(harness: Any
                                                                          ) -> None:
    h = harness
    s = setup_service(h)
    rid = to_state(h, s, "in_service")
    h.drain()
    r = h.client.simulate_post(f"/requests/{rid}/followups", headers=s.h("citizen"),
                               json={"body": "Meu CPF é 529.982.247-25"})
    assert r.status_code == 201
    conclude(h, s, rid)
    h.drain()
    r = h.client.simulate_post(f"/requests/{rid}/review", headers=s.h("citizen"),
                               json={"verdict": "approved", "comment": "Ligue 11 98765-4321"})
    assert r.status_code == 201, r.text
    assert h.client.simulate_get(f"/requests/{rid}", headers=s.h("citizen")).status_code == 200
    h.drain()
    text = _metrics(h)
    assert ('atende_http_requests_total{method="POST",route="/requests/{request_id}/followups",'
            'service="followups",status="201"}') in text
    assert 'atende_http_request_seconds_bucket{le="+Inf",method="GET",' \
           'route="/requests/{request_id}",service="requests",status="200"}' in text
    assert re.search(r'atende_commands_total\{command="POST /requests/\{request_id\}/approval"'
                     r',outcome="done",service="requests"\} [1-9]', text)
    assert re.search(r'atende_events_published_total\{type="RequestApproved"\} [1-9]', text)
    assert re.search(r'atende_consumer_effects_total\{consumer="followups",outcome="applied",'
                     r'type="FollowupPosted"\} [1-9]', text)
    assert re.search(r'atende_messages_total\{outcome="ok",queue="followups-events",'
                     r'type="RequestApproved"\} [1-9]', text)
    assert re.search(r'atende_outbox_pending\{table="requests"\} \d', text)
    assert re.search(r'atende_outbox_dead\{table="requests"\} \d', text)
    assert re.search(r'atende_dead_letters\{queue="reviews-events"\} 0', text)
    assert re.search(r'atende_screening_total\{outcome="flagged",reason="\w+"\} [1-9]', text)
    # Nothing personal in a label: no id, sub, name, e-mail, CPF or comment.
    labels = " ".join(re.findall(r"\{[^}]*\}", text))
    for personal in (rid, s.subs["assignee"], s.subs["analyst"], "Ana Cidad", "529.982",
                     "98765", "@example"):
        assert personal not in labels, personal


def test_an_unknown_path_is_counted_under_no_path_of_its_own(harness: Any) -> None:
    rid = "secret-looking-id-123"
    harness.client.simulate_get(f"/requests/{rid}/followups/zzz/nothing")
    text = _metrics(harness)
    assert rid not in text


def test_docs_page_and_its_assets_are_served_by_the_platform(harness: Any) -> None:
    r = harness.client.simulate_get("/docs")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    page = r.text
    assert "/openapi.json" in page and "http://" not in page and "https://" not in page
    assets = re.findall(r'(?:src|href)="(/docs/assets/[^"]+)"', page)
    assert len(assets) == 2
    for path in assets:
        a = harness.client.simulate_get(path)
        assert a.status_code == 200 and len(a.content) > 10_000, path
    assert "default-src 'self'" in r.headers["content-security-policy"]
    assert harness.client.simulate_get("/docs/assets/..%2Fdocs.py").status_code == 404
    assert harness.client.simulate_get("/docs/assets/README.txt").status_code == 404


def test_submitting_still_works_with_metrics_on(harness: Any) -> None:
    s = setup_service(harness)
    submit(harness, s)
    assert 'route="/requests",service="requests",status="201"' in _metrics(harness)
