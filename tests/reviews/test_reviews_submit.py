"""POST /requests/{id}/review: every rule, decided from the reviews projection."""

from __future__ import annotations

import pytest

from services.reviews.handlers import submit_review
from services.reviews.schemas import ReviewIn
from shared.identity import Principal
from shared.ids import new_id
from shared.messages import ReviewSubmitted
from shared.outbox import UnitOfWork, owed_to
from tests.reviews.reviews_support import (
    SERVICE,
    approved,
    concluded_request,
    feed,
    people,
    review,
    submitted,
)


def test_the_citizen_reviews_a_concluded_request(harness) -> None:
    p = people(harness)
    rid = concluded_request(harness)
    r = review(harness, rid, p["citizen"], verdict="approved", rating=4,
               comment="  Muito bom atendimento.  ")
    assert r.status_code == 201, r.text
    body = r.json
    assert set(body) >= {"id", "request_id", "service_id", "verdict", "rating", "comment",
                         "moderation", "flags", "created_at"}
    assert (body["request_id"], body["service_id"], body["verdict"], body["rating"]) == (
        rid, SERVICE, "approved", 4)
    assert body["comment"] == "Muito bom atendimento."
    assert body["moderation"] == "screening" and body["flags"] == []
    harness.drain()
    queue = harness.client.simulate_get("/reviews", headers=p["attendant"]).json["items"]
    assert [(i["id"], i["moderation"]) for i in queue] == [(body["id"], "pending")]


def test_a_review_without_comment_has_nothing_to_moderate(harness) -> None:
    p = people(harness)
    r = review(harness, concluded_request(harness), p["citizen"], verdict="rejected")
    assert r.status_code == 201
    assert (r.json["rating"], r.json["comment"], r.json["moderation"]) == (None, None, None)
    r = harness.client.simulate_get("/reviews", headers=p["attendant"])
    assert r.json["items"] == []


def test_only_once(harness) -> None:
    p = people(harness)
    rid = concluded_request(harness)
    assert review(harness, rid, p["citizen"]).status_code == 201
    r = review(harness, rid, p["citizen"], verdict="rejected")
    assert r.status_code == 409 and r.json["code"] == "already_reviewed"
    assert r.headers["content-type"] == "application/problem+json"


def test_concurrent_submissions_leave_one_review(harness) -> None:
    from concurrent.futures import ThreadPoolExecutor

    p = people(harness)
    rid = concluded_request(harness)
    with ThreadPoolExecutor(4) as pool:
        codes = sorted(pool.map(lambda _: review(harness, rid, p["citizen"]).status_code,
                                range(4)))
    assert codes == [201, 409, 409, 409]
    stats = harness.client.simulate_get(f"/reviews/published?service_id={SERVICE}").json
    assert stats["count"] == 1


def test_not_before_the_request_is_concluded(harness) -> None:
    p = people(harness)
    rid = new_id()
    feed(harness, submitted(rid), approved(rid))
    r = review(harness, rid, p["citizen"])
    assert r.status_code == 409 and r.json["code"] == "invalid_transition"


@pytest.mark.parametrize("who,status", [
    ("other_citizen", 404), ("other_org", 404), ("other_unit", 404),
    ("attendant", 403), ("registrar", 403),
])
def test_only_the_owning_citizen(harness, who: str, status: int) -> None:
    p = people(harness)
    r = review(harness, concluded_request(harness), p[who])
    assert r.status_code == status, r.text
    assert r.json["code"] == {403: "forbidden", 404: "not_found"}[status]


def test_an_unknown_request_is_404_and_no_token_is_401(harness) -> None:
    p = people(harness)
    r = review(harness, "nope", p["citizen"])
    assert r.status_code == 404 and r.json["code"] == "not_found"
    r = harness.client.simulate_post(f"/requests/{concluded_request(harness)}/review",
                                     json={"verdict": "approved"})
    assert r.status_code == 401


@pytest.mark.parametrize("body,field", [
    ({}, "verdict"),
    ({"verdict": "maybe"}, "verdict"),
    ({"verdict": "approved", "rating": 0}, "rating"),
    ({"verdict": "approved", "rating": 6}, "rating"),
    ({"verdict": "approved", "rating": "5"}, "rating"),
    ({"verdict": "approved", "rating": 4.5}, "rating"),
    ({"verdict": "approved", "comment": "x" * 2001}, "comment"),
    ({"verdict": "approved", "comment": 12}, "comment"),
    ({"verdict": "approved", "stars": 5}, "stars"),
])
def test_bad_input_is_422_and_nothing_is_stored(harness, body: dict, field: str) -> None:
    p = people(harness)
    rid = concluded_request(harness)
    r = review(harness, rid, p["citizen"], **body) if body else harness.client.simulate_post(
        f"/requests/{rid}/review", headers=p["citizen"], json={})
    assert r.status_code == 422 and r.json["code"] == "validation"
    assert any(e["field"].startswith(field) for e in r.json["errors"]), r.json
    assert review(harness, rid, p["citizen"]).status_code == 201  # still reviewable


def test_limits_are_inclusive_and_non_json_is_415(harness) -> None:
    p = people(harness)
    r = review(harness, concluded_request(harness), p["citizen"], verdict="approved",
               rating=5, comment="é" * 2000)
    assert r.status_code == 201
    r = review(harness, concluded_request(harness), p["citizen"], verdict="approved", rating=1)
    assert r.status_code == 201
    r = harness.client.simulate_post(f"/requests/{concluded_request(harness)}/review",
                                     headers=p["citizen"], body="verdict=approved",
                                     content_type="application/x-www-form-urlencoded")
    assert r.status_code == 415


def test_idempotency_key_replays_the_first_response(harness) -> None:
    p = people(harness)
    rid = concluded_request(harness)
    headers = {**p["citizen"], "Idempotency-Key": "k1"}
    first = review(harness, rid, headers, verdict="approved", rating=5)
    again = review(harness, rid, headers, verdict="approved", rating=5)
    assert first.status_code == again.status_code == 201 and first.json == again.json
    other = review(harness, rid, headers, verdict="rejected")
    assert other.status_code == 409 and other.json["code"] == "idempotency_key_reused"
    stats = harness.client.simulate_get(f"/reviews/published?service_id={SERVICE}").json
    assert stats["count"] == 1


def test_review_submitted_and_the_screening_job_go_through_the_outbox(harness) -> None:
    ctx = harness.platform.contexts["reviews"]
    rid = concluded_request(harness)
    who = Principal(sub="ana", name="Ana Maria Souza", roles=("citizen",))
    # No relay: what the command committed stays in the outbox for us to read.
    uow = UnitOfWork(ctx.table, None, ctx.clock, ctx.topology)
    out = submit_review(uow, who, rid, ReviewIn(verdict="rejected", rating=2, comment="Ok."),
                        ctx.clock)
    uow.commit()
    [event] = uow.events
    assert isinstance(event, ReviewSubmitted)
    assert (event.review_id, event.request_id, event.service_id, event.verdict, event.rating,
            event.citizen.sub, event.assignee and event.assignee.sub) == (
        out.id, rid, SERVICE, "rejected", 2, "ana", "bruno")
    outbox = ctx.table.query("OUTBOX").items
    assert sorted((s, e.get("actor"), e["event"].get("type"))
                  for e in outbox for s in owed_to(e)) == [
        ("followups", None, "ReviewSubmitted"), ("requests", None, "ReviewSubmitted"),
        ("reviews", "reviews_screen", None)]
    assert [e["event"]["review_id"] for e in outbox if e.get("actor")] == [out.id]
    assert ctx.table.get(f"REQUEST#{rid}", "REVIEW")["review_id"] == out.id
