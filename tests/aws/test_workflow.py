"""The whole workflow on the AWS adapters under moto (DynamoDB, S3, SQS, SES), through the
Lambda entry points: HTTP handlers fed API Gateway v2 events, workers fed SQS batches,
the relay fed DynamoDB stream records, the scheduler tick."""

from __future__ import annotations

import pytest

from infra import ops
from infra.aws import scheduler
from shared.settings import Settings
from shared.topology import queue_of
from tests.aws.harness import AwsHarness
from tests.helpers import approve, conclude, pdf_bytes, setup_service, submit


@pytest.fixture(scope="module")
def h(aws: Settings) -> AwsHarness:
    return AwsHarness(aws)


def test_health_and_openapi_through_the_gateway_function(h: AwsHarness) -> None:
    assert h.client.simulate_get("/health").json == {"status": "ok"}
    doc = h.client.simulate_get("/openapi.json").json
    assert doc["openapi"] == "3.1.0" and "/requests" in doc["paths"]
    assert h.client.simulate_get("/nowhere").status_code == 404


def test_request_to_review_on_aws(h: AwsHarness, aws: Settings) -> None:
    s = setup_service(h)
    c = h.client
    rid = submit(h, s, document=pdf_bytes())
    r = c.simulate_get(f"/requests/{rid}", headers=s.h("citizen"))
    assert r.status_code == 200 and r.headers["etag"]
    doc = r.json["documents"][0]
    # The document went to S3 and comes back through the HTTP handler, as binary.
    r = c.simulate_get(f"/requests/{rid}/documents/{doc['id']}", headers=s.h("citizen"))
    assert r.status_code == 200 and r.content == pdf_bytes()
    assert r.headers["content-type"] == "application/pdf"

    approve(h, s, rid)
    conclude(h, s, rid, pdf=pdf_bytes())
    h.drain()
    assert h.invocations.get("reviews")  # request events reached the reviews worker

    r = c.simulate_post(f"/requests/{rid}/review", headers=s.h("citizen"),
                        json={"verdict": "approved", "rating": 4,
                              "comment": "Fui bem atendida, obrigada."})
    assert r.status_code == 201, r.text
    review = r.json
    h.drain()  # screening runs in the reviews worker; the verdict reaches requests
    r = c.simulate_post(f"/reviews/{review['id']}/moderation", headers=s.h("assignee"),
                        json={"decision": "approve"})
    assert r.status_code == 200 and r.json["moderation"] == "approved"
    h.drain()
    body = c.simulate_get("/reviews/published", params={"service_id": s.service_id}).json
    assert [i["comment"] for i in body["items"]] == ["Fui bem atendida, obrigada."]
    r = c.simulate_get(f"/requests/{rid}", headers=s.h("assignee"))
    assert r.json["status"] == "concluded" and r.json["citizen_verdict"] == "approved"
    types = [i["type"] for i in c.simulate_get(f"/requests/{rid}/timeline",
                                               headers=s.h("citizen")).json["items"]]
    assert "ReviewSubmitted" in types

    # Nothing is left behind: no outbox entry, no dead letter; a scheduler tick is a no-op.
    assert all(v["pending"] == 0 and v["dead"] == 0 for v in ops.lag(aws).values())
    assert [d for d in ops.dead_letters(aws) if d.queue in map(queue_of, h.workers)] == []
    assert scheduler.handler({}, None)["swept"] == 0
