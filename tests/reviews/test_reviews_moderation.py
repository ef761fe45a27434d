"""The moderation queue, moderation decisions and the screening job."""

from __future__ import annotations

import pytest

from services.reviews.consumers import run_screening
from shared.messages import ReviewModerated
from tests.reviews.reviews_support import ORG, SERVICE, concluded_request, people, review


def _submitted(harness, p, comment: str, **kw) -> str:
    r = review(harness, concluded_request(harness, **kw), p["citizen"], verdict="approved",
               rating=4, comment=comment)
    assert r.status_code == 201, r.text
    return r.json["id"]


def _moderate(harness, rid: str, headers, decision: str = "approve", **extra):
    return harness.client.simulate_post(f"/reviews/{rid}/moderation", headers=headers,
                                        json={"decision": decision, **extra})


def _queue(harness, headers, query: str = ""):
    return harness.client.simulate_get("/reviews", headers=headers, query_string=query)


def test_screening_flags_personal_data_with_the_reason(harness) -> None:
    p = people(harness)
    rid = _submitted(harness, p, "Meu CPF é 529.982.247-25, liguem (11) 98765-4321.")
    harness.drain()
    [item] = _queue(harness, p["attendant"], "moderation=flagged").json["items"]
    assert (item["id"], item["moderation"], item["flags"]) == (rid, "flagged", ["cpf", "phone"])
    assert item["redacted_comment"] == "Meu CPF é [CPF], liguem [telefone]."
    assert _queue(harness, p["attendant"], "moderation=pending").json["items"] == []


def test_screening_is_idempotent(harness) -> None:
    p = people(harness)
    ctx = harness.platform.contexts["reviews"]
    rid = _submitted(harness, p, "Que merda de atendimento")
    harness.drain()
    item = harness.table("reviews").get(f"REVIEW#{rid}", "REVIEW")
    assert (item["moderation"], item["flags"]) == ("flagged", ["offensive"])
    assert run_screening(ctx, {"review_id": rid}) is False  # a repeat changes nothing
    assert run_screening(ctx, {"review_id": "gone"}) is False
    assert harness.table("reviews").get(f"REVIEW#{rid}", "REVIEW") == item


def test_a_review_still_screening_cannot_be_moderated(harness) -> None:
    from services.reviews.handlers import submit_review
    from services.reviews.schemas import ReviewIn
    from shared.identity import Principal
    from shared.outbox import UnitOfWork

    p = people(harness)
    ctx = harness.platform.contexts["reviews"]
    # Submitted without a relay: the screening job stays in the outbox, not yet run.
    uow = UnitOfWork(ctx.table, None, ctx.clock, ctx.topology)
    out = submit_review(uow, Principal(sub="ana", roles=("citizen",)),
                        concluded_request(harness), ReviewIn(verdict="approved", comment="Bom."),
                        ctx.clock)
    uow.commit()
    r = _moderate(harness, out.id, p["attendant"])
    assert r.status_code == 409 and r.json["code"] == "invalid_transition"
    assert run_screening(ctx, {"review_id": out.id}) is True
    assert _moderate(harness, out.id, p["attendant"]).json["moderation"] == "approved"


def test_a_review_without_comment_cannot_be_moderated(harness) -> None:
    p = people(harness)
    r = review(harness, concluded_request(harness), p["citizen"], verdict="approved")
    r = _moderate(harness, r.json["id"], p["attendant"])
    assert r.status_code == 409 and r.json["code"] == "invalid_transition"


def test_an_attendant_of_the_unit_approves_rejects_and_may_change_their_mind(harness) -> None:
    p = people(harness)
    rid = _submitted(harness, p, "Atendimento excelente.")
    harness.drain()
    r = _moderate(harness, rid, {**p["attendant"], "Idempotency-Key": "m1"}, "reject",
                  reason="teste")
    assert r.status_code == 200 and r.json["moderation"] == "rejected"
    assert r.json["id"] == rid and r.json["comment"] == "Atendimento excelente."
    again = _moderate(harness, rid, p["attendant"], "reject")
    assert again.status_code == 200 and again.json["moderation"] == "rejected"
    r = _moderate(harness, rid, p["attendant"], "approve")
    assert r.status_code == 200 and r.json["moderation"] == "approved"
    item = harness.table("reviews").get(f"REVIEW#{rid}", "REVIEW")
    assert item["decision"]["by"]["sub"] == "bruno" and item["decision"]["decision"] == "approve"
    # Decisions that change something are events (reject, then approve); the repeat is not.
    assert item["version"] == 4


def test_review_moderated_is_published(harness) -> None:
    from services.reviews.handlers import moderate_review
    from services.reviews.schemas import ModerationIn
    from shared.identity import Principal
    from shared.outbox import UnitOfWork

    p = people(harness)
    ctx = harness.platform.contexts["reviews"]
    rid = _submitted(harness, p, "Ótimo.")
    harness.drain()
    who = Principal(sub="bruno", name="Bruno A", roles=("attendant",), org=ORG, unit="tributos")
    uow = UnitOfWork(ctx.table, None, ctx.clock, ctx.topology)
    moderate_review(uow, who, rid, ModerationIn(decision="reject"), ctx.clock)
    [event] = uow.events
    assert isinstance(event, ReviewModerated)
    assert (event.review_id, event.decision, event.citizen.sub, event.actor.sub) == (
        rid, "reject", "ana", "bruno")


@pytest.mark.parametrize("who,status", [
    ("other_unit", 403), ("registrar", 403), ("citizen", 403),
    ("other_citizen", 404), ("other_org", 404),
])
def test_who_may_moderate(harness, who: str, status: int) -> None:
    p = people(harness)
    rid = _submitted(harness, p, "Bom.")
    harness.drain()
    r = _moderate(harness, rid, p[who])
    assert r.status_code == status and r.json["code"] == {403: "forbidden", 404: "not_found"}[
        status]


def test_moderation_input_and_unknown_reviews(harness) -> None:
    p = people(harness)
    rid = _submitted(harness, p, "Bom.")
    harness.drain()
    for body in ({}, {"decision": "maybe"}, {"decision": "approve", "extra": 1},
                 {"decision": "approve", "reason": "x" * 501}):
        r = harness.client.simulate_post(f"/reviews/{rid}/moderation", headers=p["attendant"],
                                         json=body)
        assert r.status_code == 422 and r.json["code"] == "validation", body
    assert _moderate(harness, "nope", p["attendant"]).status_code == 404
    r = harness.client.simulate_post(f"/reviews/{rid}/moderation", json={"decision": "approve"})
    assert r.status_code == 401
    assert _queue(harness, p["attendant"], "moderation=pending").json["items"][0]["id"] == rid


def test_the_queue_is_for_staff_of_the_org(harness) -> None:
    p = people(harness)
    rid = _submitted(harness, p, "Bom.")
    harness.drain()
    for who in ("attendant", "other_unit", "registrar"):
        r = _queue(harness, p[who], "moderation=pending")
        assert r.status_code == 200 and [i["id"] for i in r.json["items"]] == [rid]
    assert _queue(harness, p["other_org"], "moderation=pending").json["items"] == []
    r = _queue(harness, p["citizen"])
    assert r.status_code == 403 and r.json["code"] == "forbidden"
    assert harness.client.simulate_get("/reviews").status_code == 401
    r = _queue(harness, p["attendant"], "moderation=whatever")
    assert r.status_code == 422 and r.json["errors"][0]["field"] == "moderation"
    assert _queue(harness, p["attendant"], "cursor=garbage").status_code == 422
    assert _queue(harness, p["attendant"], "limit=0").status_code == 422


def test_the_queue_filters_by_state_and_service_and_pages(harness) -> None:
    p = people(harness)
    ids = [_submitted(harness, p, f"Comentário {n}.") for n in range(5)]
    other = _submitted(harness, p, "Outro serviço.", service_id="svc-outro")
    flagged = _submitted(harness, p, "Uma bosta.")
    harness.drain()
    seen, cursor = [], None
    while True:
        q = f"moderation=pending&service_id={SERVICE}&limit=2" + (
            f"&cursor={cursor}" if cursor else "")
        body = _queue(harness, p["attendant"], q).json
        assert len(body["items"]) <= 2
        seen += [i["id"] for i in body["items"]]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert seen == ids  # oldest first: a queue
    pending_all = _queue(harness, p["attendant"], "moderation=pending&limit=100").json["items"]
    assert [i["id"] for i in pending_all] == [*ids, other]
    everything = _queue(harness, p["attendant"], "limit=100").json["items"]
    assert sorted(i["id"] for i in everything) == sorted([*ids, other, flagged])
    _moderate(harness, ids[0], p["attendant"], "approve")
    _moderate(harness, flagged, p["attendant"], "reject")
    assert [i["id"] for i in _queue(harness, p["attendant"], "moderation=approved").json[
        "items"]] == [ids[0]]
    assert [i["id"] for i in _queue(harness, p["attendant"], "moderation=rejected").json[
        "items"]] == [flagged]
    assert _queue(harness, p["attendant"], "moderation=flagged").json["items"] == []
