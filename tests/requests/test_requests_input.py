"""Bad input gets a clear 4xx problem and nothing is stored."""

from __future__ import annotations

import pytest

from services.requests.forms import check_answers, cpf_is_valid
from shared.errors import ValidationFailed
from tests.helpers import (
    FORM,
    STEPS,
    VALID_CPF,
    jpeg_bytes,
    multipart,
    pdf_bytes,
    png_bytes,
    setup_service,
    stored,
    submit,
    to_state,
)

FULL_FORM = [
    {"key": "nome", "label": "Nome", "type": "text", "required": True},
    {"key": "historia", "label": "História", "type": "long_text", "required": False},
    {"key": "idade", "label": "Idade", "type": "number", "required": False},
    {"key": "nascimento", "label": "Nascimento", "type": "date", "required": False},
    {"key": "email", "label": "E-mail", "type": "email", "required": False},
    {"key": "cpf", "label": "CPF", "type": "cpf", "required": True},
    {"key": "fone", "label": "Telefone", "type": "phone", "required": False},
    {"key": "turno", "label": "Turno", "type": "choice", "required": False,
     "options": ["manhã", "tarde"]},
]


def test_cpf_check_digits_punctuated_or_bare():
    assert cpf_is_valid("529.982.247-25") and cpf_is_valid("52998224725")
    for bad in ("529.982.247-24", "52998224724", "111.111.111-11", "00000000000",
                "5299822472", "529-982.247.25", "52998224725 ", "abc"):
        assert not cpf_is_valid(bad), bad


def test_answers_are_checked_field_by_field():
    ok = {"nome": " Ana ", "historia": "linha 1\nlinha 2", "idade": 30,
          "nascimento": "1990-05-17", "email": "ana@example.com", "cpf": VALID_CPF,
          "fone": "(11) 98765-4321", "turno": "tarde"}
    assert check_answers(FULL_FORM, ok)["nome"] == "Ana"
    assert check_answers(FULL_FORM, {"nome": "A", "cpf": VALID_CPF, "email": ""}) == {
        "nome": "A", "cpf": VALID_CPF}
    bad = {"nome": "   ", "historia": 3, "idade": True, "nascimento": "17/05/1990",
           "email": "ana@", "cpf": "123.456.789-00", "fone": "123", "turno": "noite",
           "extra": "x"}
    with pytest.raises(ValidationFailed) as exc:
        check_answers(FULL_FORM, bad)
    fields = {e["field"]: e["message"] for e in exc.value.errors}
    assert set(fields) == {f"answers.{k}" for k in bad}
    assert fields["answers.nome"] == "required" and fields["answers.extra"] == "unknown field"
    for value in ("2023-02-30", "abc", 20230101):
        with pytest.raises(ValidationFailed):
            check_answers(FULL_FORM, {"nome": "A", "cpf": VALID_CPF, "nascimento": value})
    with pytest.raises(ValidationFailed):
        check_answers(FULL_FORM, {"nome": "A", "cpf": VALID_CPF, "idade": "trinta"})


def _nothing_stored(h, before):
    h.drain()
    assert stored(h) == before


def test_bad_service_definitions(harness):
    reg = harness.auth(harness.token("reg", "registrar", org="o"))
    good = {"name": "S", "unit": "u", "form": FORM, "steps": STEPS}
    before = stored(harness)
    cases = [
        ({"name": "S", "unit": "u", "form": FORM}, 422),  # no steps
        ({**good, "extra": 1}, 422),
        ({**good, "name": 5}, 422),
        ({**good, "deadline_days": 0}, 422),
        ({**good, "form": [{"key": "a", "label": "A", "type": "choice"}]}, 422),
        ({**good, "form": [{"key": "a", "label": "A", "type": "text", "options": ["x"]}]}, 422),
        ({**good, "form": [{"key": "a", "label": "A", "type": "color"}]}, 422),
        ({**good, "form": FORM + FORM[:1]}, 422),  # duplicate key
        ({**good, "steps": [{"key": "bad key!", "label": "X"}]}, 422),
        ({**good, "description": "x" * 70_000}, 413),
    ]
    for body, status in cases:
        r = harness.client.simulate_post("/catalog/services", headers=reg, json=body)
        assert r.status_code == status, (body, r.text)
        assert r.headers["content-type"] == "application/problem+json"
    r = harness.client.simulate_post("/catalog/services", headers=reg, body="{not json",
                                     content_type="application/json")
    assert r.status_code == 400
    r = harness.client.simulate_post("/catalog/services", headers=reg, body="name=S",
                                     content_type="application/x-www-form-urlencoded")
    assert r.status_code == 415
    r = harness.client.simulate_put("/attendants/x", headers=reg,
                                    json={"name": "X", "unit": "u", "enabled": "maybe"})
    assert r.status_code == 422
    r = harness.client.simulate_put("/attendants/x", headers=reg,
                                    json={"name": "X", "unit": "u", "enabled": True,
                                          "email": "not-an-email"})
    assert r.status_code == 422
    _nothing_stored(harness, before)


def test_bad_submissions(harness):
    s = setup_service(harness)
    before = stored(harness)
    c = harness.client
    for body in [{"service_id": s.service_id, "answers": {"nome": "Ana"}},
                 {"service_id": s.service_id, "answers": {"nome": "A", "cpf": "111"}},
                 {"service_id": s.service_id, "answers": {"nome": "A", "cpf": VALID_CPF,
                                                          "hack": 1}},
                 {"service_id": s.service_id, "answers": ["nome"]},
                 {"service_id": s.service_id},
                 {"service_id": "nope", "answers": {}},
                 {"service_id": s.service_id, "answers": {}, "status": "concluded"}]:
        r = c.simulate_post("/requests", headers=s.h("citizen"), json=body)
        assert r.status_code == 422, (body, r.text)
        assert r.json["code"] == "validation" and r.json["errors"]
    r = c.simulate_post("/requests", headers=s.h("citizen"), body='{"service_id": ',
                        content_type="application/json")
    assert r.status_code == 400
    r = c.simulate_post("/requests", headers=s.h("citizen"), body="[1, 2]",
                        content_type="application/json")
    assert r.status_code == 422
    r = c.simulate_post("/requests", headers=s.h("citizen"), json={
        "service_id": s.service_id, "answers": {"nome": "x" * 70_000, "cpf": VALID_CPF}})
    assert r.status_code == 413 and r.json["code"] == "payload_too_large"
    r = c.simulate_post("/requests", headers=s.h("citizen"),
                        json={"service_id": s.service_id, "answers": {"cpf": "1"}})
    assert {e["field"] for e in r.json["errors"]} == {"answers.nome", "answers.cpf"}
    _nothing_stored(harness, before)


def test_bad_documents(make_harness):
    h = make_harness(max_file_bytes=4096)
    s = setup_service(h)
    rid = submit(h, s)
    before = stored(h)
    url = f"/requests/{rid}/documents"

    def post(fields, files):
        body, ctype = multipart(fields, files)
        return h.client.simulate_post(url, body=body,
                                      headers=s.h("citizen", **{"Content-Type": ctype}))

    r = post({}, [("file", "rg.pdf", b"just some text pretending\n")])
    assert r.status_code == 415 and r.json["code"] == "unsupported_media_type"
    r = post({}, [("file", "fake.pdf", b"%PDF-1.7 but not really a pdf")])
    assert r.status_code == 415
    r = post({}, [("file", "big.png", png_bytes() + b"\0" * 5000)])
    assert r.status_code == 413 and r.json["code"] == "payload_too_large"
    assert post({}, []).status_code == 422
    assert post({"key": "passaporte"}, [("file", "a.png", png_bytes())]).status_code == 422
    assert post({"other": "x"}, [("file", "a.png", png_bytes())]).status_code == 422
    assert post({}, [("anexo", "a.png", png_bytes())]).status_code == 422
    assert post({}, [("file", "a.png", png_bytes())] * 2).status_code == 413
    r = h.client.simulate_post(url, headers=s.h("citizen"), json={"file": "x"})
    assert r.status_code == 415
    assert post({}, [("file", "../rg.png", png_bytes())]).status_code == 422
    r = h.client.simulate_post(url, body=b"--x\r\ngarbage", headers=s.h(
        "citizen", **{"Content-Type": "multipart/form-data; boundary=x"}))
    assert r.status_code == 400
    _nothing_stored(h, before)
    # The good ones: PNG and JPEG by content, whatever their names.
    assert post({}, [("file", "foto.pdf", png_bytes())]).json["content_type"] == "image/png"
    r = post({}, [("file", "foto", jpeg_bytes())])
    assert r.json["content_type"] == "image/jpeg"


def test_bad_commands(harness):
    s = setup_service(harness)
    c = harness.client
    rid = to_state(harness, s, "in_analysis")
    before = stored(harness)
    step = f"/requests/{rid}/steps/identidade"
    for body in [{}, {"ok": "yes"}, {"ok": False}, {"ok": False, "note": "   "},
                 {"ok": True, "extra": 1}]:
        r = c.simulate_put(step, headers=s.h("analyst"), json=body)
        assert r.status_code == 422, body
    r = c.simulate_put(f"/requests/{rid}/steps/nope", headers=s.h("analyst"), json={"ok": True})
    assert r.status_code == 404
    for body in [{}, {"justification": "   curta   "}, {"justification": 12345678901}]:
        r = c.simulate_post(f"/requests/{rid}/rejection", headers=s.h("analyst"), json=body)
        assert r.status_code == 422, body
    for body in [{}, {"assignee": ""}, {"assignee": ["x"]}]:
        r = c.simulate_post(f"/requests/{rid}/approval", headers=s.h("analyst"), json=body)
        assert r.status_code == 422, body
    r = c.simulate_post(f"/requests/{rid}/approval", headers=s.h("analyst"), body="{",
                        content_type="application/json")
    assert r.status_code == 400
    _nothing_stored(harness, before)


def test_bad_conclusions(harness):
    s = setup_service(harness)
    c = harness.client
    rid = to_state(harness, s, "in_service")
    before = stored(harness)
    url = f"/requests/{rid}/conclusion"

    def post(fields, files):
        body, ctype = multipart(fields, files)
        return c.simulate_post(url, body=body,
                               headers=s.h("assignee", **{"Content-Type": ctype}))

    r = post({"summary": "Feito."}, [("file", "conclusao.pdf", png_bytes())])
    assert r.status_code == 415
    r = post({"summary": "Feito."}, [("file", "conclusao.pdf", b"plain text")])
    assert r.status_code == 415
    assert post({}, [("file", "c.pdf", pdf_bytes())]).status_code == 422
    assert post({"summary": "  "}, []).status_code == 422
    assert post({"summary": "ok", "x": "y"}, []).status_code == 422
    for body in [{}, {"summary": ""}, {"summary": 1}, {"summary": "ok", "file": "x"}]:
        assert c.simulate_post(url, headers=s.h("assignee"), json=body).status_code == 422
    _nothing_stored(harness, before)
    r = post({"summary": "Feito, sem anexo."}, [])
    assert r.status_code == 200 and r.json["conclusion"]["attachment"] is None


def test_bad_panel_queries(harness):
    s = setup_service(harness)
    for params in [{"status": "open"}, {"limit": "0"}, {"limit": "101"}, {"limit": "x"},
                   {"cursor": "!!"}, {"overdue": "yes"}]:
        r = harness.client.simulate_get("/requests", headers=s.h("analyst"), params=params)
        assert r.status_code == 422, params
    r = harness.client.simulate_get("/catalog/services", params={"cursor": "bm9wZQ"})
    assert r.status_code == 422
