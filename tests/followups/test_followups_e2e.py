"""End to end through the gateway, on the embedded default: after approval, the attendant
and the citizen exchange messages with a PDF and a JPEG; both see the same full history;
each gets an in-app notification and a mail file for the other's messages; the request's
timeline and last activity show them."""

from __future__ import annotations

from email.header import decode_header, make_header
from email.message import Message
from typing import Any

from tests.followups.followups_support import mails, text_of
from tests.helpers import (
    approve,
    conclude,
    idem,
    jpeg_bytes,
    multipart,
    pdf_bytes,
    setup_service,
    submit,
)

JPEG = jpeg_bytes()


def _subject(msg: Message) -> str:
    return str(make_header(decode_header(msg["Subject"])))


def test_attendant_and_citizen_exchange_messages_with_files(harness: Any) -> None:
    h = harness
    s = setup_service(h)
    rid = submit(h, s)
    approve(h, s, rid)
    h.drain()
    url = f"/requests/{rid}/followups"
    pdf = pdf_bytes()

    body, ctype = multipart({"body": "Olá, Ana. Segue o formulário preenchido."},
                            [("file", "formulario.pdf", pdf)])
    r = h.client.simulate_post(url, body=body,
                               headers=idem(s.h("assignee", **{"Content-Type": ctype})))
    assert r.status_code == 201, r.text
    staff_msg = r.json
    assert staff_msg["author"]["role"] == "attendant"
    body, ctype = multipart({"body": "Obrigada! Envio a foto do documento."},
                            [("file", "documento.jpg", JPEG)])
    r = h.client.simulate_post(url, body=body,
                               headers=idem(s.h("citizen", **{"Content-Type": ctype})))
    assert r.status_code == 201, r.text
    citizen_msg = r.json
    assert citizen_msg["author"] == {"sub": "ana", "name": "Ana Cidadã", "role": "citizen"}
    h.drain()

    histories = [h.client.simulate_get(url, headers=s.h(who)) for who in
                 ("assignee", "citizen")]
    for got in histories:
        assert got.status_code == 200
    assert histories[0].json["items"] == [staff_msg, citizen_msg]
    # The citizen reads the attendant by name and role, never by sub (API.md, Identity).
    as_citizen = {**staff_msg, "author": {"name": "Bruno Atendente", "role": "attendant"}}
    assert histories[1].json["items"] == [as_citizen, citizen_msg]
    for msg, data, ctype in ((staff_msg, pdf, "application/pdf"),
                             (citizen_msg, JPEG, "image/jpeg")):
        att = msg["attachments"][0]
        for who in ("assignee", "citizen"):
            got = h.client.simulate_get(f"{url}/{msg['id']}/attachments/{att['id']}",
                                        headers=s.h(who))
            assert got.status_code == 200
            assert got.content == data
            assert got.headers["content-type"] == ctype
    for who in ("other_citizen", "outsider"):
        assert h.client.simulate_get(url, headers=s.h(who)).status_code == 404

    citizen_inbox = h.client.simulate_get("/notifications", headers=s.h("citizen")).json
    staff_inbox = h.client.simulate_get("/notifications", headers=s.h("assignee")).json
    assert citizen_inbox["items"][0]["kind"] == "followup_posted"
    assert "Bruno Atendente" in citizen_inbox["items"][0]["title"]
    assert [i["kind"] for i in staff_inbox["items"]] == ["followup_posted", "request_assigned"]
    assert "Ana Cidadã" in staff_inbox["items"][0]["title"]
    for note in (citizen_inbox["items"][0], staff_inbox["items"][0]):
        assert note["request_id"] == rid
        assert "Segue" not in note["body"] and "Obrigada" not in note["body"]

    followup_mails = {m["To"]: m for m in mails(h) if _subject(m).startswith("Nova mensagem")}
    assert set(followup_mails) == {"ana@example.com", "bruno@example.gov.br"}
    for msg in followup_mails.values():
        text = text_of(msg)
        assert "Segunda via de documento" in text and rid in text
        assert "Segue o formulário" not in text and "Obrigada" not in text

    timeline = h.client.simulate_get(f"/requests/{rid}/timeline", headers=s.h("citizen"))
    posted = [e for e in timeline.json["items"] if e["type"] == "FollowupPosted"]
    assert [e["data"]["followup_id"] for e in posted] == [staff_msg["id"], citizen_msg["id"]]
    request = h.client.simulate_get(f"/requests/{rid}", headers=s.h("citizen")).json
    assert request["last_activity_at"] >= citizen_msg["created_at"][:19]

    conclude(h, s, rid)
    h.drain()
    r = h.client.simulate_post(url, json={"body": "Mais uma coisa."}, headers=s.h("citizen"))
    assert r.status_code == 409
    assert r.json["code"] == "invalid_transition"
    assert h.client.simulate_get(url, headers=s.h("citizen")).json["items"] == [
        as_citizen, citizen_msg]
    assert h.client.simulate_get("/notifications", headers=s.h("citizen")
                                 ).json["items"][0]["kind"] == "request_concluded"


def test_posting_before_approval_and_by_others_through_the_gateway(harness: Any) -> None:
    h = harness
    s = setup_service(h)
    rid = submit(h, s)
    h.drain()
    url = f"/requests/{rid}/followups"
    r = h.client.simulate_post(url, json={"body": "Oi"}, headers=s.h("citizen"))
    assert (r.status_code, r.json["code"]) == (409, "invalid_transition")
    approve(h, s, rid)
    h.drain()
    for who, status in (("other_citizen", 404), ("outsider", 404), ("analyst", 403),
                        ("registrar", 403)):
        r = h.client.simulate_post(url, json={"body": "Oi"}, headers=s.h(who))
        assert r.status_code == status, (who, r.text)
    assert h.client.simulate_get(url, headers=s.h("registrar")).status_code == 200
