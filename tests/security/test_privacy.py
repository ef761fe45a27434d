"""Issue 14, items 4 and 5: people are shown by name (never by a sub, which with gov.br is
a CPF), staff subs never reach a citizen, and no job's arguments reach a log line.

Run: ``pytest tests/security/test_privacy.py``."""

from __future__ import annotations

import email
import io
import logging
import socket
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email import policy
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from shared import logs
from shared.identity import mint
from shared.outbox import UnitOfWork
from tests.helpers import (
    approve,
    conclude,
    multipart,
    pdf_bytes,
    setup_service,
    start_analysis,
)

CPF_SUB = "52998224725"  # a gov.br sub is the person's CPF
NAME, EMAIL = "Carla Souza Lima", "carla.souza@example.com"
CPF = "529.982.247-25"


def citizen_token(h: Any, *, sub: str = CPF_SUB, name: str | None = NAME,
                  email: str | None = EMAIL) -> str:
    s = h.platform.settings
    return mint(h.secret, sub=sub, roles=["citizen"], name=name, email=email,
                issuer=s.jwt_issuer, audience=s.jwt_audience)


# --- item 5: personal data in logs when a job fails -------------------------------------


class RefusingHandler:
    """An SMTP server that refuses every recipient, quoting the address back (as real
    servers do: "550 5.1.1 <x@y>: Recipient address rejected")."""

    def __init__(self) -> None:
        self.refused = 0

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str,
                          rcpt_options: list[str]) -> str:
        self.refused += 1
        return f"550 5.1.1 <{address}>: Recipient address rejected ({NAME})"


class Captured:
    """Everything the process logs: the platform's own JSON lines (``logs.configure``, as
    every ``atende`` command sets it up) and a plain handler added beside them, at DEBUG."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.plain = io.StringIO()

    def text(self) -> str:
        assert logs._batched is not None
        logs._batched.flush()
        return self.path.read_text() + self.plain.getvalue()


@pytest.fixture
def captured(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Captured]:
    root = logging.getLogger()
    saved = root.handlers[:], root.level, logs._batched
    # The fake SMTP server's own conversation log is the test's, not the platform's.
    quiet = logging.getLogger("mail.log")
    quiet_saved = quiet.level, quiet.propagate
    quiet.setLevel(logging.CRITICAL)
    quiet.propagate = False
    cap = Captured(tmp_path / "stderr")
    with cap.path.open("wb") as out:
        monkeypatch.setattr(sys, "stderr", out)
        logs.configure("DEBUG", batched=True)
        plain = logging.StreamHandler(cap.plain)
        plain.setFormatter(logging.Formatter("%(levelname)s %(name)s %(message)s"))
        root.addHandler(plain)
        batched = logs._batched
        try:
            yield cap
        finally:
            root.handlers[:], level, logs._batched = saved
            root.setLevel(level)
            quiet.setLevel(quiet_saved[0])
            quiet.propagate = quiet_saved[1]
            assert batched is not None
            batched.close()  # before its file is


@pytest.fixture
def refusing_smtp() -> Iterator[tuple[RefusingHandler, int]]:
    handler = RefusingHandler()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield handler, port
    finally:
        controller.stop()


def test_personal_data_in_logs_when_a_job_fails_item5(
        captured: Captured, refusing_smtp: tuple[RefusingHandler, int],
        make_harness: Any) -> None:
    smtp, port = refusing_smtp
    h = make_harness(notifier="smtp", smtp_host="127.0.0.1", smtp_port=port)
    s = setup_service(h)
    h.drain()
    citizen = {"Authorization": f"Bearer {citizen_token(h)}"}
    r = h.client.simulate_post("/requests", headers=citizen, json={
        "service_id": s.service_id, "answers": {"nome": NAME, "cpf": CPF, "email": EMAIL}})
    assert r.status_code == 201, r.text
    rid = r.json["id"]
    start_analysis(h, s, rid)
    r = h.client.simulate_post(f"/requests/{rid}/rejection", headers=s.h("analyst"), json={
        "justification": f"O CPF {CPF} de {NAME} não confere com o documento."})
    assert r.status_code == 200, r.text
    h.drain()

    # The mails (analysis started, rejection) were tried, refused and dead-lettered...
    dead = [m for m in h.dead_letters if m.actor_name == "followups_send_mail"]
    assert len(dead) == 2 and smtp.refused >= 6, (len(dead), smtp.refused)
    text = captured.text()
    # ...and Dramatiq said so, with the failure's traceback,
    assert "Failed to process message followups_send_mail" in text, text[-3000:]
    assert "SMTPRecipientsRefused" in text
    # but nowhere the citizen's name, e-mail or CPF (nor the CPF that is their sub).
    for secret in (NAME, "Carla", EMAIL, "carla.souza", CPF, CPF_SUB, "982.247"):
        assert secret not in text, (secret, _around(text, secret))
    assert "Failed to process message followups_send_mail#" in text  # actor#id
    assert "SMTPRecipientsRefused (text withheld)" in text


def test_a_job_carries_ids_not_personal_data_item5(make_harness: Any,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """The mail job names its notification only: the broker, its dead letters and the
    outbox never hold the address or the text."""
    jobs: list[tuple[str, dict[str, Any]]] = []
    original = UnitOfWork.send_task

    def send_task(self: UnitOfWork, service: str, actor: str, payload: dict[str, Any]) -> None:
        jobs.append((actor, payload))
        original(self, service, actor, payload)

    monkeypatch.setattr(UnitOfWork, "send_task", send_task)
    h = make_harness()
    s = setup_service(h)
    citizen = {"Authorization": f"Bearer {citizen_token(h)}"}
    r = h.client.simulate_post("/requests", headers=citizen, json={
        "service_id": s.service_id, "answers": {"nome": NAME, "cpf": CPF}})
    assert r.status_code == 201, r.text
    start_analysis(h, s, r.json["id"])
    h.drain()
    mail_jobs = [p for actor, p in jobs if actor == "followups_send_mail"]
    assert len(mail_jobs) == 1, jobs
    assert set(mail_jobs[0]) == {"notification_id", "correlation_id"}, mail_jobs
    mails = list((h.platform.settings.data_dir / "mail").glob("*.eml"))
    assert len(mails) == 1 and EMAIL in mails[0].read_text()
    note = h.table("followups").get(f"NOTE#{mail_jobs[0]['notification_id']}", "NOTE")
    assert note["mailed_at"] and note["mail"] is None  # sent: the copy is gone


def test_a_failure_of_any_actor_is_logged_without_its_arguments_item5(
        captured: Captured) -> None:
    import dramatiq
    from dramatiq.brokers.stub import StubBroker

    broker = StubBroker()
    broker.emit_after("process_boot")

    def leaky(payload: dict[str, str]) -> None:
        raise ValueError(f"could not handle {payload['cpf']}")

    dramatiq.actor(leaky, broker=broker, actor_name="leaky", max_retries=0)
    worker = dramatiq.Worker(broker, worker_threads=1, worker_timeout=50)
    worker.start()
    try:
        broker.actors["leaky"].send({"name": NAME, "cpf": CPF, "email": EMAIL})
        broker.join("default", fail_fast=False)
        worker.join()
    finally:
        worker.stop()
        broker.close()
    text = captured.text()
    assert "Failed to process message leaky#" in text and "ValueError (text withheld)" in text
    for secret in (NAME, EMAIL, CPF):
        assert secret not in text, (secret, _around(text, secret))


def _around(text: str, needle: str) -> str:
    i = text.find(needle)
    return text[max(0, i - 300):i + 200]


# --- item 4: identifiers shown as names --------------------------------------------------

MODERATOR = "mod-sem-nome"


def _walk(h: Any) -> tuple[Any, str, dict[str, str]]:
    """A citizen with no name claim whose sub is a CPF, through the whole attendance: a
    document, analysis, approval, follow-ups both ways, a meeting, conclusion, a review and
    its moderation by an attendant who has no name claim either."""
    s = setup_service(h)
    c = h.client
    reg = s.h("registrar")
    r = c.simulate_put(f"/attendants/{MODERATOR}", headers=reg,
                       json={"name": "Moderadora", "unit": s.unit, "enabled": True})
    assert r.status_code == 200, r.text
    st = h.platform.settings
    moderator = {"Authorization": "Bearer " + mint(
        h.secret, sub=MODERATOR, roles=["attendant"], org=s.org, unit=s.unit,
        issuer=st.jwt_issuer, audience=st.jwt_audience)}
    citizen = {"Authorization": f"Bearer {citizen_token(h, name=None)}"}
    r = c.simulate_post("/requests", headers=citizen, json={
        "service_id": s.service_id, "answers": {"nome": "Carla", "cpf": CPF}})
    assert r.status_code == 201, r.text
    rid = r.json["id"]
    body, ctype = multipart({"key": "rg"}, [("file", "rg.pdf", pdf_bytes())])
    r = c.simulate_post(f"/requests/{rid}/documents", body=body,
                        headers={**citizen, "Content-Type": ctype})
    assert r.status_code == 201, r.text
    approve(h, s, rid)
    h.drain()
    for who in (s.h("assignee"), citizen):
        r = c.simulate_post(f"/requests/{rid}/followups", headers=who,
                            json={"body": "Segue a mensagem."})
        assert r.status_code == 201, r.text
    starts = (datetime.now(UTC) + timedelta(days=1)).replace(microsecond=0)
    r = c.simulate_post(f"/requests/{rid}/meetings", headers=s.h("assignee"), json={
        "starts_at": starts.isoformat(), "subject": "Conferência"})
    assert r.status_code == 201, r.text
    conclude(h, s, rid)
    h.drain()
    r = c.simulate_post(f"/requests/{rid}/review", headers=citizen,
                        json={"verdict": "approved", "rating": 5, "comment": "Muito bom."})
    assert r.status_code == 201, r.text
    review_id = r.json["id"]
    h.drain()
    r = c.simulate_post(f"/reviews/{review_id}/moderation", headers=moderator,
                        json={"decision": "approve"})
    assert r.status_code == 200, r.text
    h.drain()
    return s, rid, citizen


def _names(doc: Any) -> list[str]:
    """Every ``name`` (and ``citizen_name``, ``author``) anywhere in a response."""
    if isinstance(doc, dict):
        found = [v for k, v in doc.items()
                 if k in ("name", "citizen_name", "author") and isinstance(v, str)]
        return found + [n for v in doc.values() for n in _names(v)]
    if isinstance(doc, list):
        return [n for v in doc for n in _names(v)]
    return []


def _parties(doc: Any) -> list[dict[str, Any]]:
    """Every party (a mapping with a ``name`` and a ``sub`` or ``role``) in a response."""
    if isinstance(doc, dict):
        own = [doc] if "name" in doc and ("sub" in doc or "role" in doc) else []
        return own + [p for v in doc.values() for p in _parties(v)]
    if isinstance(doc, list):
        return [p for v in doc for p in _parties(v)]
    return []


def test_identifiers_shown_as_names_item4(harness: Any) -> None:
    h = harness
    s, rid, citizen = _walk(h)
    c = h.client
    staff_subs = {s.subs["analyst"], s.subs["assignee"], s.subs["registrar"], MODERATOR}

    # What the citizen reads: every route that shows a party, and their inbox.
    as_citizen = {path: c.simulate_get(path, headers=citizen) for path in (
        f"/requests/{rid}", "/requests", f"/requests/{rid}/timeline",
        f"/requests/{rid}/followups", f"/requests/{rid}/meetings", "/notifications")}
    for path, r in as_citizen.items():
        assert r.status_code == 200, (path, r.text)
        text = r.text
        leaked = [sub for sub in staff_subs if sub in text]
        assert not leaked, (path, leaked, text[:800])
        for party in _parties(r.json):
            if party.get("sub") != CPF_SUB:
                assert set(party) == {"name", "role"}, (path, party)
                assert party["role"] in ("attendant", "registrar", "guest"), (path, party)
        assert CPF_SUB not in _names(r.json), (path, r.json)
    detail = as_citizen[f"/requests/{rid}"].json
    assert detail["citizen"] == {"sub": CPF_SUB, "name": "Cidadão"}
    assert detail["analyst"] == {"name": "Alice Analista", "role": "attendant"}
    assert detail["assignee"] == {"name": "Bruno Atendente", "role": "attendant"}
    assert detail["steps"][0]["checked_by"] == {"name": "Alice Analista", "role": "attendant"}
    assert detail["conclusion"]["by"] == {"name": "Bruno Atendente", "role": "attendant"}
    panel = as_citizen["/requests"].json["items"][0]
    assert panel["assignee"] == {"name": "Bruno Atendente", "role": "attendant"}
    assert panel["citizen_name"] == "Cidadão"
    timeline = as_citizen[f"/requests/{rid}/timeline"].json["items"]
    actors = {e["type"]: e["actor"] for e in timeline}
    assert actors["RequestSubmitted"] == {"sub": CPF_SUB, "name": "Cidadão"}
    assert actors["ReviewModerated"] == {"name": "Atendente", "role": "attendant"}
    approved = next(e for e in timeline if e["type"] == "RequestApproved")
    assert approved["data"]["assignee"] == {"name": "Bruno Atendente", "role": "attendant"}
    followups = as_citizen[f"/requests/{rid}/followups"].json["items"]
    assert [f["author"] for f in followups] == [
        {"name": "Bruno Atendente", "role": "attendant"},
        {"sub": CPF_SUB, "name": "Cidadão", "role": "citizen"}]
    meeting = as_citizen[f"/requests/{rid}/meetings"].json["items"][0]
    assert meeting["created_by"] == {"name": "Bruno Atendente", "role": "attendant"}

    # Staff see subs, and the citizen without a name as "Cidadão", never as the CPF.
    for who in ("analyst", "registrar"):
        for path in (f"/requests/{rid}", "/requests", f"/requests/{rid}/timeline",
                     f"/requests/{rid}/followups"):
            r = c.simulate_get(path, headers=s.h(who))
            assert r.status_code == 200, (path, r.text)
            assert CPF_SUB not in _names(r.json), (who, path, r.json)
    staff_detail = c.simulate_get(f"/requests/{rid}", headers=s.h("analyst")).json
    assert staff_detail["citizen"] == {"sub": CPF_SUB, "name": "Cidadão"}
    assert staff_detail["assignee"] == {"sub": s.subs["assignee"], "name": "Bruno Atendente"}
    staff_panel = c.simulate_get("/requests", headers=s.h("analyst")).json["items"][0]
    assert staff_panel["citizen_name"] == "Cidadão"
    assert staff_panel["assignee"] == {"sub": s.subs["assignee"], "name": "Bruno Atendente"}
    for who in ("assignee", "analyst"):
        for note in c.simulate_get("/notifications", headers=s.h(who)).json["items"]:
            assert CPF_SUB not in note["title"] + note["body"], note

    # No mail names anyone by a sub: not the citizen (a CPF), not staff.
    mails = list((h.platform.settings.data_dir / "mail").glob("*.eml"))
    assert len(mails) >= 5
    for path in mails:
        raw = path.read_bytes().decode("utf-8", "replace")
        text = str(email.message_from_bytes(path.read_bytes(), policy=policy.default))
        for sub in (CPF_SUB, *staff_subs):
            assert sub not in raw and sub not in text, (path.name, sub)

    # The public page: a first name or nothing.
    r = c.simulate_get("/reviews/published", params={"service_id": s.service_id})
    assert r.status_code == 200, r.text
    assert [i["author"] for i in r.json["items"]] == [None]
    assert CPF_SUB not in r.text and "Cidad" not in r.text


@pytest.mark.parametrize("name, first", [
    ("Maria das Dores", "Maria"), ("  Ana  ", "Ana"), ("D'Ávila Souza", "D'Ávila"),
    (None, None), ("", None), (CPF_SUB, None), ("529.982.247-25", None),
    ("maria@example.com", None), ("Cidadão", None), ("123 Maria", None)])
def test_identifiers_shown_as_names_public_reviews_first_name_or_nothing_item4(
        harness: Any, name: str | None, first: str | None) -> None:
    h = harness
    s = setup_service(h)
    token = citizen_token(h, name=name)
    headers = {"Authorization": f"Bearer {token}"}
    r = h.client.simulate_post("/requests", headers=headers, json={
        "service_id": s.service_id, "answers": {"nome": "X", "cpf": CPF}})
    assert r.status_code == 201, r.text
    rid = r.json["id"]
    approve(h, s, rid)
    conclude(h, s, rid)
    h.drain()
    r = h.client.simulate_post(f"/requests/{rid}/review", headers=headers,
                               json={"verdict": "approved", "comment": "Atendimento bom."})
    assert r.status_code == 201, r.text
    h.drain()
    r = h.client.simulate_post(f"/reviews/{r.json['id']}/moderation",
                               headers=s.h("assignee"), json={"decision": "approve"})
    assert r.status_code == 200, r.text
    r = h.client.simulate_get("/reviews/published", params={"service_id": s.service_id})
    assert [i["author"] for i in r.json["items"]] == [first]
