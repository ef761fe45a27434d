"""The whole flow through the gateway on the embedded default: a request driven to
``concluded`` by the requests service, reviewed, screened, moderated and published."""

from __future__ import annotations

from tests.helpers import approve, conclude, setup_service, submit


def test_review_flow_through_the_gateway(harness) -> None:
    s = setup_service(harness)
    c = harness.client
    clean_rid, cpf_rid, open_rid = (submit(harness, s) for _ in range(3))
    for rid in (clean_rid, cpf_rid):
        approve(harness, s, rid)
        conclude(harness, s, rid)
    harness.drain()

    r = c.simulate_post(f"/requests/{open_rid}/review", headers=s.h("citizen"),
                        json={"verdict": "approved"})
    assert r.status_code == 409 and r.json["code"] == "invalid_transition"
    r = c.simulate_post(f"/requests/{clean_rid}/review", headers=s.h("other_citizen"),
                        json={"verdict": "approved"})
    assert r.status_code == 404

    r = c.simulate_post(f"/requests/{clean_rid}/review", headers=s.h("citizen"),
                        json={"verdict": "approved", "rating": 5,
                              "comment": "Atendimento rápido, resolvido em 2 dias."})
    assert r.status_code == 201, r.text
    clean = r.json
    r = c.simulate_post(f"/requests/{cpf_rid}/review", headers=s.h("citizen"),
                        json={"verdict": "rejected", "rating": 2,
                              "comment": "Demorou. Meu CPF é 529.982.247-25."})
    assert r.status_code == 201, r.text
    flagged = r.json
    harness.drain()

    queue = c.simulate_get("/reviews", headers=s.h("analyst"),
                           query_string=f"moderation=flagged&service_id={s.service_id}").json
    assert [(i["id"], i["flags"]) for i in queue["items"]] == [(flagged["id"], ["cpf"])]
    r = c.simulate_post(f"/reviews/{flagged['id']}/moderation", headers=s.h("assignee"),
                        json={"decision": "reject", "reason": "Contém CPF."})
    assert r.status_code == 200 and r.json["moderation"] == "rejected"
    r = c.simulate_post(f"/reviews/{clean['id']}/moderation", headers=s.h("assignee"),
                        json={"decision": "approve"})
    assert r.status_code == 200 and r.json["moderation"] == "approved"
    harness.drain()

    body = c.simulate_get("/reviews/published",
                          query_string=f"service_id={s.service_id}").json
    assert [(i["id"], i["author"], i["comment"]) for i in body["items"]] == [
        (clean["id"], "Ana", "Atendimento rápido, resolvido em 2 dias.")]
    assert (body["count"], body["average_rating"], body["approval_rate"]) == (2, 3.5, 0.5)

    # The requests service shows the citizen's verdict (its side of ReviewSubmitted).
    r = c.simulate_get(f"/requests/{cpf_rid}", headers=s.h("assignee"))
    assert r.status_code == 200 and r.json["citizen_verdict"] == "rejected"
