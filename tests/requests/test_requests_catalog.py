"""The catalog and the roster."""

from __future__ import annotations

from tests.helpers import FORM, STEPS, VALID_CPF, setup_service, submit

SERVICE = {"name": "Alvará", "unit": "obras", "form": FORM, "steps": STEPS}


def test_a_registrar_registers_a_service_of_their_org(harness):
    reg = harness.auth(harness.token("reg", "registrar", org="pref-rj"))
    r = harness.client.simulate_post("/catalog/services", headers=reg,
                                     json={**SERVICE, "org": "pref-sp"})
    assert r.status_code == 422  # org is not the client's to choose
    r = harness.client.simulate_post("/catalog/services", headers=reg, json=SERVICE)
    assert r.status_code == 201
    svc = r.json
    assert svc["org"] == "pref-rj" and svc["active"] is True and svc["unit"] == "obras"
    assert set(svc) == {"id", "org", "unit", "name", "description", "form", "steps",
                        "documents", "deadline_days", "active", "created_at"}
    assert svc["deadline_days"] is None and svc["documents"] == []


def test_only_registrars_with_an_org_register(harness):
    for token in (harness.token("ana", "citizen"),
                  harness.token("att", "attendant", org="o", unit="u"),
                  harness.token("reg", "registrar")):
        r = harness.client.simulate_post("/catalog/services", headers=harness.auth(token),
                                         json=SERVICE)
        assert r.status_code == 403


def test_public_listing_pages_through_active_services(harness):
    reg = harness.auth(harness.token("reg", "registrar", org="o"))
    ids = []
    for n in range(5):
        r = harness.client.simulate_post("/catalog/services", headers=reg,
                                         json={**SERVICE, "name": f"Serviço {n}"})
        ids.append(r.json["id"])
    r = harness.client.simulate_patch(f"/catalog/services/{ids[2]}", headers=reg,
                                      json={"active": False})
    assert r.status_code == 200 and r.json["active"] is False
    seen, cursor = [], None
    while True:
        params = {"limit": "2", **({"cursor": cursor} if cursor else {})}
        r = harness.client.simulate_get("/catalog/services", params=params)
        assert len(r.json["items"]) <= 2
        seen += [i["name"] for i in r.json["items"]]
        cursor = r.json["next_cursor"]
        if cursor is None:
            break
    assert seen == ["Serviço 0", "Serviço 1", "Serviço 3", "Serviço 4"]
    assert harness.client.simulate_get(f"/catalog/services/{ids[2]}").status_code == 404
    assert harness.client.simulate_get("/catalog/services/nope").status_code == 404


def test_patch_is_for_a_registrar_of_the_same_org(harness):
    s = setup_service(harness)
    url = f"/catalog/services/{s.service_id}"
    other = harness.auth(harness.token("reg2", "registrar", org="outra"))
    assert harness.client.simulate_patch(url, headers=other,
                                         json={"name": "X"}).status_code == 403
    assert harness.client.simulate_patch(url, headers=s.h("analyst"),
                                         json={"name": "X"}).status_code == 403
    r = harness.client.simulate_patch(url, headers=s.h("registrar"), json={"bogus": 1})
    assert r.status_code == 422
    r = harness.client.simulate_patch(url, headers=s.h("registrar"), json={"name": None})
    assert r.status_code == 422
    r = harness.client.simulate_patch(url, headers=s.h("registrar"),
                                      json={"name": "Novo nome", "deadline_days": 3})
    assert r.status_code == 200 and r.json["name"] == "Novo nome"
    # Retired: gone from the public, from other orgs, and closed to new requests.
    harness.client.simulate_patch(url, headers=s.h("registrar"), json={"active": False})
    assert harness.client.simulate_patch(url, headers=other,
                                         json={"name": "X"}).status_code == 404
    r = harness.client.simulate_post("/requests", headers=s.h("citizen"), json={
        "service_id": s.service_id, "answers": {"nome": "Ana", "cpf": VALID_CPF}})
    assert r.status_code == 422 and r.json["errors"][0]["field"] == "service_id"
    r = harness.client.simulate_patch(url, headers=s.h("registrar"), json={"active": True})
    assert r.status_code == 200 and r.json["active"] is True


def test_requests_keep_the_form_they_were_made_with(harness):
    s = setup_service(harness)
    rid = submit(harness, s)
    new_form = [{"key": "protocolo", "label": "Protocolo", "type": "number",
                 "required": True}]
    r = harness.client.simulate_patch(
        f"/catalog/services/{s.service_id}", headers=s.h("registrar"),
        json={"form": new_form, "steps": [{"key": "novo", "label": "Novo"}]})
    assert r.status_code == 200
    old = harness.client.simulate_get(f"/requests/{rid}", headers=s.h("citizen")).json
    assert [st["key"] for st in old["steps"]] == ["identidade", "residencia"]
    assert old["answers"] == {"nome": "Ana Cidadã", "cpf": VALID_CPF}
    # The old request's steps are still the ones to check.
    harness.client.simulate_post(f"/requests/{rid}/analysis", headers=s.h("analyst"))
    r = harness.client.simulate_put(f"/requests/{rid}/steps/residencia",
                                    headers=s.h("analyst"), json={"ok": True})
    assert r.status_code == 200
    # New requests answer the new form.
    r = harness.client.simulate_post("/requests", headers=s.h("citizen"), json={
        "service_id": s.service_id, "answers": {"nome": "Ana", "cpf": VALID_CPF}})
    assert r.status_code == 422
    r = harness.client.simulate_post("/requests", headers=s.h("citizen"), json={
        "service_id": s.service_id, "answers": {"protocolo": 42}})
    assert r.status_code == 201 and r.json["steps"][0]["key"] == "novo"


def test_the_roster(harness):
    s = setup_service(harness)
    c = harness.client
    r = c.simulate_put("/attendants/carla", headers=s.h("registrar"),
                       json={"name": "Carla", "email": "carla@example.gov.br",
                             "unit": "obras", "enabled": True})
    assert r.status_code == 200
    assert r.json == {"sub": "carla", "name": "Carla", "email": "carla@example.gov.br",
                      "org": s.org, "unit": "obras", "enabled": True}
    for who in ("analyst", "citizen"):
        r = c.simulate_put("/attendants/zed", headers=s.h(who),
                           json={"name": "Zed", "unit": "obras", "enabled": True})
        assert r.status_code == 403
    # Staff of the org list it, by unit or whole.
    r = c.simulate_get("/attendants", headers=s.h("analyst"), params={"unit": s.unit})
    assert [a["sub"] for a in r.json["items"]] == sorted(
        [s.subs["analyst"], s.subs["assignee"]])
    r = c.simulate_get("/attendants", headers=s.h("registrar"))
    assert len(r.json["items"]) == 4  # the setup's three and carla
    r = c.simulate_get("/attendants", headers=s.h("registrar"), params={"limit": "3"})
    r2 = c.simulate_get("/attendants", headers=s.h("registrar"),
                        params={"limit": "3", "cursor": r.json["next_cursor"]})
    assert len(r.json["items"]) == 3 and len(r2.json["items"]) == 1
    assert c.simulate_get("/attendants", headers=s.h("citizen")).status_code == 403
    other = harness.auth(harness.token("reg2", "registrar", org="outra"))
    assert c.simulate_get("/attendants", headers=other).json["items"] == []
    # Moving an attendant to another unit moves them in the unit listing.
    c.simulate_put("/attendants/carla", headers=s.h("registrar"),
                   json={"name": "Carla", "unit": s.unit, "enabled": False})
    r = c.simulate_get("/attendants", headers=s.h("analyst"), params={"unit": "obras"})
    assert r.json["items"] == []
    r = c.simulate_get("/attendants", headers=s.h("analyst"), params={"unit": s.unit})
    assert "carla" in [a["sub"] for a in r.json["items"]]
