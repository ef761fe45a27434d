"""Item 3 of the audit: nobody handles their own request. A person who is both a citizen
and staff may make requests as a citizen, but may not analyse, check, decide, be assigned,
reassign, conclude or moderate anything about one whose citizen is themselves (403
``conflict_of_interest``); the request goes on with colleagues."""

from __future__ import annotations

from typing import Any

from tests.helpers import VALID_CPF, Setup, check_steps, setup_service

COI = "conflict_of_interest"


def _own_request(h: Any, s: Setup, headers: dict[str, str]) -> str:
    r = h.client.simulate_post("/requests", headers=headers, json={
        "service_id": s.service_id, "answers": {"nome": "Sol", "cpf": VALID_CPF}})
    assert r.status_code == 201, r.text
    return r.json["id"]


def _refused(r: Any) -> bool:
    return r.status_code == 403 and r.json["code"] == COI


def test_nobody_handles_their_own_request_from_analysis_to_moderation(harness):
    h = harness
    c = h.client
    s = setup_service(h)
    r = c.simulate_put("/attendants/sol", headers=s.h("registrar"),
                       json={"name": "Sol", "unit": s.unit, "enabled": True})
    assert r.status_code == 200
    sol = h.auth(h.token("sol", "citizen", "attendant", org=s.org, unit=s.unit, name="Sol"))
    rid = _own_request(h, s, sol)
    url = f"/requests/{rid}"
    # Sol sees it (as its citizen and as staff of the unit) but may not start its analysis.
    assert c.simulate_get(url, headers=sol).status_code == 200
    assert _refused(c.simulate_post(f"{url}/analysis", headers=sol))
    # A colleague analyses it; Sol may not check its steps, decide it, nor be chosen.
    assert c.simulate_post(f"{url}/analysis", headers=s.h("analyst")).status_code == 200
    assert _refused(c.simulate_put(f"{url}/steps/identidade", headers=sol,
                                   json={"ok": True}))
    assert _refused(c.simulate_post(f"{url}/rejection", headers=sol,
                                    json={"justification": "Não cabe o pedido."}))
    assert _refused(c.simulate_post(f"{url}/approval", headers=sol,
                                    json={"assignee": s.subs["assignee"]}))
    check_steps(h, s, rid)
    assert _refused(c.simulate_post(f"{url}/approval", headers=s.h("analyst"),
                                    json={"assignee": "sol"}))
    r = c.simulate_post(f"{url}/approval", headers=s.h("analyst"),
                        json={"assignee": s.subs["assignee"]})
    assert r.status_code == 200, r.text
    # In service: not handed to Sol, nor handed on or concluded by Sol.
    assert _refused(c.simulate_post(f"{url}/reassignment", headers=s.h("registrar"),
                                    json={"assignee": "sol", "reason": "Troca."}))
    assert _refused(c.simulate_post(f"{url}/reassignment", headers=sol,
                                    json={"assignee": s.subs["analyst"], "reason": "Eu."}))
    assert _refused(c.simulate_post(f"{url}/conclusion", headers=sol,
                                    json={"summary": "Feito por mim."}))
    r = c.simulate_post(f"{url}/conclusion", headers=s.h("assignee"),
                        json={"summary": "Feito."})
    assert r.status_code == 200
    h.drain()
    # As its citizen Sol reviews it, and may not moderate that review; a colleague may.
    r = c.simulate_post(f"{url}/review", headers=sol,
                        json={"verdict": "approved", "comment": "Excelente atendimento."})
    assert r.status_code == 201, r.text
    review = r.json["id"]
    h.drain()
    assert _refused(c.simulate_post(f"/reviews/{review}/moderation", headers=sol,
                                    json={"decision": "approve"}))
    r = c.simulate_post(f"/reviews/{review}/moderation", headers=s.h("analyst"),
                        json={"decision": "approve"})
    assert r.status_code == 200 and r.json["moderation"] == "approved"
    # Nothing Sol tried is in the story, and nobody but colleagues handled it.
    story = c.simulate_get(f"{url}/timeline", headers=sol).json["items"]
    assert all(e["actor"]["sub"] != "sol" for e in story
               if e["type"] not in ("RequestSubmitted", "ReviewSubmitted"))


def test_a_registrar_does_not_reassign_a_request_of_their_own(harness):
    h = harness
    s = setup_service(h)
    rui = h.auth(h.token("rui", "citizen", "registrar", org=s.org, name="Rui"))
    rid = _own_request(h, s, rui)
    c = h.client
    assert c.simulate_post(f"/requests/{rid}/analysis", headers=s.h("analyst")
                           ).status_code == 200
    check_steps(h, s, rid)
    assert c.simulate_post(f"/requests/{rid}/approval", headers=s.h("analyst"),
                           json={"assignee": s.subs["assignee"]}).status_code == 200
    assert _refused(c.simulate_post(f"/requests/{rid}/reassignment", headers=rui,
                                    json={"assignee": s.subs["analyst"], "reason": "Troca."}))
    # The institution's other registrar may.
    r = c.simulate_post(f"/requests/{rid}/reassignment", headers=s.h("registrar"),
                        json={"assignee": s.subs["analyst"], "reason": "Troca."})
    assert r.status_code == 200, r.text


def test_a_plain_citizen_is_told_forbidden_not_conflict(harness):
    """The rule is about staff: a citizen trying staff work on their own request is simply
    not allowed."""
    h = harness
    s = setup_service(h)
    rid = _own_request(h, s, s.h("citizen"))
    r = h.client.simulate_post(f"/requests/{rid}/analysis", headers=s.h("citizen"))
    assert r.status_code == 403 and r.json["code"] == "forbidden"
