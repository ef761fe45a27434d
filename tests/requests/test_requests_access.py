"""Who may see and do what: tokens, ownership, unit, org, roster."""

from __future__ import annotations

import base64
import json
import time

import jwt
import pytest

from tests.helpers import multipart, pdf_bytes, setup_service, submit, to_state


def _b64(doc: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(doc).encode()).decode().rstrip("=")


def _claims(h, **over) -> dict:
    s = h.platform.settings
    now = int(time.time())
    return {"sub": "ana", "roles": ["citizen"], "iss": s.jwt_issuer, "aud": s.jwt_audience,
            "iat": now, "exp": now + 600, **over}


def bad_tokens(h) -> dict[str, str | None]:
    secret = h.secret
    return {
        "missing": None,
        "not bearer": "Basic YW5hOnNlbmhh",
        "malformed": "Bearer not.a.jwt",
        "expired": "Bearer " + h.token("ana", "citizen", ttl=-3600),
        "forged": "Bearer " + jwt.encode(_claims(h), "another-secret-" + "x" * 32,
                                         algorithm="HS256"),
        "alg none": "Bearer " + _b64({"alg": "none", "typ": "JWT"}) + "."
        + _b64(_claims(h)) + ".",
        "wrong iss": "Bearer " + jwt.encode(_claims(h, iss="evil"), secret, algorithm="HS256"),
        "wrong aud": "Bearer " + jwt.encode(_claims(h, aud="other"), secret,
                                            algorithm="HS256"),
        "no exp": "Bearer " + jwt.encode({k: v for k, v in _claims(h).items() if k != "exp"},
                                         secret, algorithm="HS256"),
    }


def test_every_bad_token_is_401_on_every_protected_route(harness):
    s = setup_service(harness)
    rid = submit(harness, s)
    routes = [("GET", "/requests"), ("POST", "/requests"), ("GET", f"/requests/{rid}"),
              ("POST", f"/requests/{rid}/analysis"), ("GET", f"/requests/{rid}/timeline"),
              ("PUT", "/attendants/x"), ("GET", "/attendants"), ("POST", "/catalog/services"),
              ("PATCH", f"/catalog/services/{s.service_id}")]
    for label, header in bad_tokens(harness).items():
        headers = {"Authorization": header} if header else {}
        for method, path in routes:
            r = harness.client.simulate_request(method, path, headers=headers, json={})
            assert r.status_code == 401, (label, method, path, r.text)
            assert r.json["code"] == "unauthorized"
            assert r.headers["www-authenticate"] == "Bearer"


def test_the_catalog_is_public(harness):
    s = setup_service(harness)
    assert harness.client.simulate_get("/catalog/services").status_code == 200
    r = harness.client.simulate_get(f"/catalog/services/{s.service_id}")
    assert r.status_code == 200 and r.json["id"] == s.service_id


def test_what_nobody_outside_may_see_is_404(harness):
    s = setup_service(harness)
    rid = submit(harness, s, document=pdf_bytes())
    doc_id = harness.client.simulate_get(f"/requests/{rid}", headers=s.h("citizen")
                                         ).json["documents"][0]["id"]
    reg2 = harness.token("reg2", "registrar", org="outra-org")
    r = harness.client.simulate_put("/attendants/att2", headers=harness.auth(reg2),
                                    json={"name": "Att Dois", "unit": s.unit, "enabled": True})
    assert r.status_code == 200, r.text
    strangers = {
        "other citizen": s.tokens["other_citizen"],
        "attendant of another unit": s.tokens["outsider"],
        "registrar of another org": reg2,
        "attendant of another org": harness.token("att2", "attendant", org="outra-org",
                                                  unit=s.unit),
    }
    for label, token in strangers.items():
        auth = harness.auth(token)
        for method, path in [("GET", f"/requests/{rid}"), ("GET", f"/requests/{rid}/timeline"),
                             ("GET", f"/requests/{rid}/documents/{doc_id}"),
                             ("POST", f"/requests/{rid}/analysis")]:
            r = harness.client.simulate_request(method, path, headers=auth)
            assert r.status_code == 404, (label, path, r.status_code)
            assert r.json["code"] == "not_found"
        body, ctype = multipart({}, [("file", "a.pdf", pdf_bytes())])
        r = harness.client.simulate_post(f"/requests/{rid}/documents", body=body,
                                         headers={**auth, "Content-Type": ctype})
        assert r.status_code == 404, label
        r = harness.client.simulate_get("/requests", headers=auth)
        assert rid not in [i["id"] for i in r.json.get("items", [])], label
    r = harness.client.simulate_get(f"/requests/{rid}/documents/nope", headers=s.h("citizen"))
    assert r.status_code == 404


def test_seeing_but_not_acting_is_403(harness):
    s = setup_service(harness)
    c = harness.client
    rid = submit(harness, s)
    # The owning citizen and the org's registrar see it but may not analyse it.
    for who in ("citizen", "registrar"):
        assert c.simulate_get(f"/requests/{rid}", headers=s.h(who)).status_code == 200
        r = c.simulate_post(f"/requests/{rid}/analysis", headers=s.h(who))
        assert r.status_code == 403 and r.json["code"] == "forbidden"
    # An attendant of the unit per their token, but not on the roster: neither.
    ghost = harness.auth(harness.token("ghost", "attendant", org=s.org, unit=s.unit))
    for method in ("GET", "POST"):
        path = f"/requests/{rid}" + ("/analysis" if method == "POST" else "")
        r = c.simulate_request(method, path, headers=ghost)
        assert r.status_code == 403 and r.json["code"] == "attendant_not_enabled"
    # Staff may not add the citizen's documents.
    body, ctype = multipart({}, [("file", "a.pdf", pdf_bytes())])
    r = c.simulate_post(f"/requests/{rid}/documents", body=body,
                        headers=s.h("analyst", **{"Content-Type": ctype}))
    assert r.status_code == 403
    # In analysis: only the analyst decides.
    c.simulate_post(f"/requests/{rid}/analysis", headers=s.h("analyst"))
    for path, body in [("rejection", {"justification": "Sem comprovante."}),
                       ("approval", {"assignee": s.subs["assignee"]})]:
        r = c.simulate_post(f"/requests/{rid}/{path}", headers=s.h("assignee"), json=body)
        assert r.status_code == 403, path
    r = c.simulate_put(f"/requests/{rid}/steps/identidade", headers=s.h("assignee"),
                       json={"ok": True})
    assert r.status_code == 403
    # In service: only the assignee concludes and checks steps.
    c.simulate_post(f"/requests/{rid}/approval", headers=s.h("analyst"),
                    json={"assignee": s.subs["assignee"]})
    r = c.simulate_post(f"/requests/{rid}/conclusion", headers=s.h("analyst"),
                        json={"summary": "Feito."})
    assert r.status_code == 403
    r = c.simulate_put(f"/requests/{rid}/steps/identidade", headers=s.h("analyst"),
                       json={"ok": True})
    assert r.status_code == 403
    assert c.simulate_get(f"/requests/{rid}", headers=s.h("citizen")).json["version"] == 3


def test_a_disabled_attendant_may_not_act_nor_be_assigned(harness):
    s = setup_service(harness)
    c = harness.client
    reg = s.h("registrar")
    rid = to_state(harness, s, "in_analysis")
    rid2 = submit(harness, s)
    r = c.simulate_put(f"/attendants/{s.subs['assignee']}", headers=reg,
                       json={"name": "Bruno Atendente", "unit": s.unit, "enabled": False})
    assert r.status_code == 200 and r.json["enabled"] is False
    # Disabled: neither sees the unit's requests nor acts.
    for method, path in (("GET", f"/requests/{rid2}"), ("POST", f"/requests/{rid2}/analysis")):
        r = c.simulate_request(method, path, headers=s.h("assignee"))
        assert r.status_code == 403 and r.json["code"] == "attendant_not_enabled"
    # Not a valid choice of assignee: disabled, unknown, or of another unit.
    c.simulate_put("/attendants/carla", headers=reg,
                   json={"name": "Carla", "unit": "outra", "enabled": True})
    for sub in (s.subs["assignee"], "nobody", "carla"):
        r = c.simulate_post(f"/requests/{rid}/approval", headers=s.h("analyst"),
                            json={"assignee": sub})
        assert r.status_code == 422, sub
        assert r.json["errors"][0]["field"] == "assignee"
    # Re-enabled: fine again.
    c.simulate_put(f"/attendants/{s.subs['assignee']}", headers=reg,
                   json={"name": "Bruno Atendente", "unit": s.unit, "enabled": True})
    r = c.simulate_post(f"/requests/{rid}/approval", headers=s.h("analyst"),
                        json={"assignee": s.subs["assignee"]})
    assert r.status_code == 200


@pytest.mark.parametrize("who", ["analyst", "registrar"])
def test_staff_may_not_submit_requests(harness, who):
    s = setup_service(harness)
    r = harness.client.simulate_post("/requests", headers=s.h(who), json={
        "service_id": s.service_id, "answers": {"nome": "X", "cpf": "52998224725"}})
    assert r.status_code == 403


def test_a_detail_reads_the_roster_entry_and_the_request_in_one_statement(harness):
    """Each SQLite statement hands the GIL over at every step: under the server's threads
    the detail's two point reads cost twice the hand-overs of one (docs/performance.md)."""
    s = setup_service(harness)
    rid = submit(harness, s)
    statements: list[str] = []
    conn = harness.platform.contexts["requests"].table.db.connection()
    conn.set_trace_callback(statements.append)
    try:
        r = harness.client.simulate_get(f"/requests/{rid}", headers=s.h("analyst"))
        missing = harness.client.simulate_get("/requests/nope", headers=s.h("analyst"))
    finally:
        conn.set_trace_callback(None)
    assert r.status_code == 200 and r.json["id"] == rid and missing.status_code == 404
    assert len(statements) == 2 and all("ROSTER#" in q and "REQ#" in q for q in statements)
