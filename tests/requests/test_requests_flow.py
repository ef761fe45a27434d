"""The whole walk through the gateway, as the documented curl walk (docs/walkthrough.md) does it."""

from __future__ import annotations

from tests.helpers import (
    STEPS,
    VALID_CPF,
    multipart,
    pdf_bytes,
    setup_service,
)


def test_a_request_from_submission_to_conclusion_and_another_rejected(harness):
    c = harness.client
    s = setup_service(harness)

    # The citizen submits with a PDF document.
    r = c.simulate_post("/requests", headers=s.h("citizen"), json={
        "service_id": s.service_id, "answers": {"nome": "Ana Cidadã", "cpf": VALID_CPF}})
    assert r.status_code == 201
    rid = r.json["id"]
    assert r.json["status"] == "submitted" and r.json["citizen"] == {"sub": "ana",
                                                                     "name": "Ana Cidadã"}
    assert [st["key"] for st in r.json["steps"]] == [st["key"] for st in STEPS]
    pdf = pdf_bytes()
    body, ctype = multipart({"key": "rg"}, [("file", "rg.pdf", pdf)])
    r = c.simulate_post(f"/requests/{rid}/documents", body=body,
                        headers=s.h("citizen", **{"Content-Type": ctype}))
    assert r.status_code == 201
    doc = r.json
    assert doc["content_type"] == "application/pdf" and doc["size"] == len(pdf)
    assert doc["filename"] == "rg.pdf" and doc["key"] == "rg"

    # The unit's attendant finds it on the panel and starts the analysis.
    r = c.simulate_get("/requests", headers=s.h("analyst"), params={"status": "submitted"})
    assert [i["id"] for i in r.json["items"]] == [rid]
    r = c.simulate_get(f"/requests/{rid}/documents/{doc['id']}", headers=s.h("analyst"))
    assert r.status_code == 200 and r.content == pdf
    assert r.headers["content-type"] == "application/pdf"
    assert r.headers["content-disposition"].startswith("attachment")
    r = c.simulate_post(f"/requests/{rid}/analysis", headers=s.h("analyst"))
    assert r.status_code == 200 and r.json["status"] == "in_analysis"
    assert r.json["analyst"]["sub"] == s.subs["analyst"]

    # Steps: one fails with a note, then both pass.
    r = c.simulate_put(f"/requests/{rid}/steps/identidade", headers=s.h("analyst"),
                       json={"ok": False, "note": "Foto ilegível"})
    step = r.json["steps"][0]
    assert (step["ok"], step["note"], step["checked_by"]["sub"]) == (
        False, "Foto ilegível", s.subs["analyst"])
    for st in STEPS:
        r = c.simulate_put(f"/requests/{rid}/steps/{st['key']}", headers=s.h("analyst"),
                           json={"ok": True})
        assert r.status_code == 200
    assert all(st["ok"] for st in r.json["steps"])

    # Approved to the other attendant, who concludes with a PDF.
    r = c.simulate_post(f"/requests/{rid}/approval", headers=s.h("analyst"),
                        json={"assignee": s.subs["assignee"]})
    assert r.status_code == 200 and r.json["status"] == "in_service"
    assert r.json["assignee"] == {"sub": s.subs["assignee"], "name": "Bruno Atendente"}
    r = c.simulate_get("/requests", headers=s.h("assignee"), params={"assignee": "me"})
    assert [i["id"] for i in r.json["items"]] == [rid]
    body, ctype = multipart({"summary": "Segunda via emitida."},
                            [("file", "conclusao.pdf", pdf)])
    r = c.simulate_post(f"/requests/{rid}/conclusion", body=body,
                        headers=s.h("assignee", **{"Content-Type": ctype}))
    assert r.status_code == 200 and r.json["status"] == "concluded"
    conclusion = r.json["conclusion"]
    assert conclusion["summary"] == "Segunda via emitida."
    assert conclusion["by"]["sub"] == s.subs["assignee"]
    r = c.simulate_get(f"/requests/{rid}/documents/{conclusion['attachment']['id']}",
                       headers=s.h("citizen"))
    assert r.status_code == 200 and r.content == pdf

    # The timeline tells the story, oldest first.
    harness.drain()
    r = c.simulate_get(f"/requests/{rid}/timeline", headers=s.h("citizen"))
    assert r.status_code == 200
    types = [e["type"] for e in r.json["items"]]
    assert types == ["RequestSubmitted", "DocumentAdded", "AnalysisStarted", "StepChecked",
                     "StepChecked", "StepChecked", "RequestApproved", "RequestConcluded"]
    ats = [e["at"] for e in r.json["items"]]
    assert ats == sorted(ats)
    # To the citizen, staff are a name and a role, never a sub (API.md, Identity).
    assert r.json["items"][2]["actor"] == {"name": "Alice Analista", "role": "attendant"}

    # A second request is rejected; the citizen reads why.
    r = c.simulate_post("/requests", headers=s.h("citizen"), json={
        "service_id": s.service_id, "answers": {"nome": "Ana", "cpf": "52998224725"}})
    rid2 = r.json["id"]
    c.simulate_post(f"/requests/{rid2}/analysis", headers=s.h("analyst"))
    r = c.simulate_post(f"/requests/{rid2}/rejection", headers=s.h("analyst"),
                        json={"justification": "  Comprovante de residência vencido.  "})
    assert r.status_code == 200 and r.json["status"] == "rejected"
    r = c.simulate_get(f"/requests/{rid2}", headers=s.h("citizen"))
    assert r.json["rejection"]["justification"] == "Comprovante de residência vencido."
    assert r.json["rejection"]["by"] == {"name": "Alice Analista", "role": "attendant"}
    r = c.simulate_get("/requests", headers=s.h("citizen"))
    assert [(i["id"], i["status"]) for i in r.json["items"]] == [
        (rid2, "rejected"), (rid, "concluded")]
    assert harness.dead_letters == []


def test_openapi_documents_every_route_with_its_models(harness):
    doc = harness.client.simulate_get("/openapi.json").json
    paths = doc["paths"]
    for path, method in [("/catalog/services", "post"), ("/catalog/services/{service_id}",
                                                          "patch"),
                         ("/attendants/{sub}", "put"), ("/attendants", "get"),
                         ("/requests", "post"), ("/requests", "get"),
                         ("/requests/{request_id}/conclusion", "post"),
                         ("/requests/{request_id}/timeline", "get")]:
        assert method in paths[path], (path, method)
    body = paths["/requests/{request_id}/conclusion"]["post"]["requestBody"]["content"]
    assert set(body) == {"application/json", "multipart/form-data"}
    assert "RequestOut" in doc["components"]["schemas"]
    assert "security" not in paths["/catalog/services"]["get"]
