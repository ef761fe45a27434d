"""Concurrent commands, Idempotency-Key replays, ETag / If-Match."""

from __future__ import annotations

import threading

import pytest

from tests.helpers import VALID_CPF, idem, setup_service, stored, to_state


@pytest.mark.parametrize("use_etag", [False, True])
def test_two_concurrent_approvals_exactly_one_wins(harness, use_etag):
    s = setup_service(harness)
    c = harness.client
    c.simulate_put("/attendants/carla", headers=s.h("registrar"),
                   json={"name": "Carla", "unit": s.unit, "enabled": True})
    rid = to_state(harness, s, "in_analysis")
    etag = c.simulate_get(f"/requests/{rid}", headers=s.h("analyst")).headers["etag"]
    headers = s.h("analyst", **({"If-Match": etag} if use_etag else {}))
    barrier = threading.Barrier(2)
    results: dict[str, object] = {}

    def approve(sub: str) -> None:
        barrier.wait()
        results[sub] = c.simulate_post(f"/requests/{rid}/approval", headers=headers,
                                       json={"assignee": sub})

    threads = [threading.Thread(target=approve, args=(sub,))
               for sub in (s.subs["assignee"], "carla")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    codes = sorted(r.status_code for r in results.values())
    assert codes[0] == 200 and codes[1] in (409, 412), codes
    winner = next(sub for sub, r in results.items() if r.status_code == 200)
    final = c.simulate_get(f"/requests/{rid}", headers=s.h("analyst")).json
    assert final["assignee"]["sub"] == winner and final["version"] == 3
    harness.drain()
    timeline = c.simulate_get(f"/requests/{rid}/timeline", headers=s.h("analyst")).json
    assert [e["type"] for e in timeline["items"]].count("RequestApproved") == 1


def test_etag_and_if_match(harness):
    s = setup_service(harness)
    c = harness.client
    rid = to_state(harness, s, "submitted")
    r = c.simulate_get(f"/requests/{rid}", headers=s.h("analyst"))
    assert r.headers["etag"] == '"1"'
    stale = r.headers["etag"]
    r = c.simulate_post(f"/requests/{rid}/analysis",
                        headers=s.h("analyst", **{"If-Match": stale}))
    assert r.status_code == 200 and r.headers["etag"] == '"2"'
    r = c.simulate_put(f"/requests/{rid}/steps/identidade",
                       headers=s.h("analyst", **{"If-Match": stale}), json={"ok": True})
    assert r.status_code == 412 and r.json["code"] == "precondition_failed"
    r = c.simulate_put(f"/requests/{rid}/steps/identidade",
                       headers=s.h("analyst", **{"If-Match": 'W/"2"'}), json={"ok": True})
    assert r.status_code == 200
    r = c.simulate_post(f"/requests/{rid}/rejection",
                        headers=s.h("analyst", **{"If-Match": "*"}),
                        json={"justification": "Sem comprovante de endereço."})
    assert r.status_code == 200 and r.json["version"] == 4


def test_idempotent_submission(harness):
    s = setup_service(harness)
    c = harness.client
    headers = idem(s.h("citizen"))
    body = {"service_id": s.service_id, "answers": {"nome": "Ana", "cpf": VALID_CPF}}
    first = c.simulate_post("/requests", headers=headers, json=body)
    assert first.status_code == 201
    rows = stored(harness)
    again = c.simulate_post("/requests", headers=headers, json=body)
    assert again.status_code == 201 and again.json == first.json
    assert again.headers["idempotent-replayed"] == "true"
    assert stored(harness) == rows
    other = c.simulate_post("/requests", headers=headers,
                            json={**body, "answers": {"nome": "Outra", "cpf": VALID_CPF}})
    assert other.status_code == 409 and other.json["code"] == "idempotency_key_reused"
    assert len(c.simulate_get("/requests", headers=s.h("citizen")).json["items"]) == 1
    # The key is the caller's: another citizen with the same key makes their own request.
    mine = c.simulate_post("/requests", headers={**s.h("other_citizen"),
                                                 "Idempotency-Key": headers["Idempotency-Key"]},
                           json=body)
    assert mine.status_code == 201 and mine.json["id"] != first.json["id"]


def test_idempotent_commands_do_nothing_again(harness):
    s = setup_service(harness)
    c = harness.client
    rid = to_state(harness, s, "submitted")
    headers = idem(s.h("analyst"))
    first = c.simulate_post(f"/requests/{rid}/analysis", headers=headers)
    again = c.simulate_post(f"/requests/{rid}/analysis", headers=headers)
    assert first.status_code == again.status_code == 200 and again.json == first.json
    unkeyed = c.simulate_post(f"/requests/{rid}/analysis", headers=s.h("analyst"))
    assert unkeyed.status_code == 409
    harness.drain()
    timeline = c.simulate_get(f"/requests/{rid}/timeline", headers=s.h("analyst")).json
    assert [e["type"] for e in timeline["items"]] == ["RequestSubmitted", "AnalysisStarted"]
    reg = idem(s.h("registrar"))
    svc = {"name": "Outro", "unit": s.unit, "form": [], "steps": []}
    a = c.simulate_post("/catalog/services", headers=reg, json=svc)
    b = c.simulate_post("/catalog/services", headers=reg, json=svc)
    assert a.json["id"] == b.json["id"]
