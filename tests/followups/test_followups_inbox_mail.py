"""The in-app inbox through the gateway, and mail: the SMTP adapter against a real local
SMTP server, and a failing mail server that retries, dead-letters and blocks nothing."""

from __future__ import annotations

import email
import socket
from collections.abc import Iterator
from email.header import decode_header, make_header
from email.message import Message
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from shared.ids import new_id
from shared.mail import Mail, SmtpMailer
from shared.messages import FollowupPosted
from tests.followups.followups_support import (
    ASSIGNEE,
    CITIZEN,
    FailingMailer,
    RecordingMailer,
    analysis,
    approved,
    feed,
    inbox,
    submitted,
    text_of,
    token,
)


def _notes(h: Any, who: str, query: str = "") -> Any:
    return h.client.simulate_get(f"/notifications{query}", headers=token(h, who))


def test_inbox_is_own_newest_first_and_paged(harness: Any) -> None:
    rid = new_id()
    feed(harness, submitted(rid), analysis(rid), approved(rid))
    r = _notes(harness, "citizen")
    assert r.status_code == 200
    items = r.json["items"]
    assert [i["kind"] for i in items] == ["request_approved", "analysis_started"]
    assert set(items[0]) == {"id", "kind", "request_id", "title", "body", "created_at",
                             "read"}
    assert items[0]["created_at"] >= items[1]["created_at"]
    page1 = _notes(harness, "citizen", "?limit=1")
    assert [i["id"] for i in page1.json["items"]] == [items[0]["id"]]
    page2 = _notes(harness, "citizen", f"?limit=1&cursor={page1.json['next_cursor']}")
    assert [i["id"] for i in page2.json["items"]] == [items[1]["id"]]
    assert page2.json["next_cursor"] is None
    assert [i["kind"] for i in _notes(harness, "assignee").json["items"]] == [
        "request_assigned"]
    assert _notes(harness, "other_citizen").json == {"items": [], "next_cursor": None}
    assert _notes(harness, "citizen", "?limit=101").status_code == 422
    assert _notes(harness, "citizen", "?cursor=x").status_code == 422


def test_marking_read_is_the_owners_alone(harness: Any) -> None:
    rid = new_id()
    feed(harness, submitted(rid), analysis(rid))
    note = _notes(harness, "citizen").json["items"][0]
    url = f"/notifications/{note['id']}/read"
    r = harness.client.simulate_post(url, headers=token(harness, "assignee"))
    assert r.status_code == 404
    assert r.json["code"] == "not_found"
    r = harness.client.simulate_post(url, headers=token(harness, "citizen"))
    assert r.status_code == 200
    assert r.json == {**note, "read": True}
    again = harness.client.simulate_post(url, headers=token(harness, "citizen"))
    assert again.status_code == 200
    assert again.json["read"] is True
    assert _notes(harness, "citizen").json["items"][0]["read"] is True
    missing = harness.client.simulate_post("/notifications/nada/read",
                                           headers=token(harness, "citizen"))
    assert missing.status_code == 404


def test_a_failing_mail_server_retries_then_dead_letters_and_the_inbox_is_there(
        harness: Any) -> None:
    ctx = harness.platform.contexts["followups"]
    failing = FailingMailer()
    ctx.deps.mailer = failing
    rid = new_id()
    feed(harness, submitted(rid), analysis(rid))
    harness.drain()
    # max_retries is 2 in the test settings: the first try and two retries.
    assert failing.attempts == 3
    dead = [d for d in harness.dead_letters if d.actor_name == "followups_send_mail"]
    assert len(dead) == 1
    outbox = harness.table("followups").query("OUTBOX", limit=100).items
    assert [e["status"] for e in outbox if e.get("actor")] == ["dead"]
    assert [n["kind"] for n in inbox(harness, CITIZEN.sub)] == ["analysis_started"]
    assert inbox(harness, CITIZEN.sub)[0]["mailed_at"] is None
    # The inbox keeps working for later events while mail is down.
    feed(harness, approved(rid))
    harness.drain()
    assert [n["kind"] for n in inbox(harness, ASSIGNEE.sub)] == ["request_assigned"]


# --- SMTP ----------------------------------------------------------------------------


class _Collect:
    def __init__(self) -> None:
        self.received: list[tuple[str, list[str], Message]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        msg = email.message_from_bytes(envelope.original_content or envelope.content)
        self.received.append((envelope.mail_from, list(envelope.rcpt_tos), msg))
        return "250 OK"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def smtp_server() -> Iterator[tuple[_Collect, int]]:
    handler = _Collect()
    port = _free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield handler, port
    finally:
        controller.stop()


def test_smtp_adapter_delivers_a_text_and_html_message(smtp_server: Any) -> None:
    handler, port = smtp_server
    SmtpMailer("127.0.0.1", port, "atende@prefeitura.gov.br").send(Mail(
        to="carla@example.com", subject="Sua solicitação foi aprovada",
        text="Olá, Carla.", html="<p>Olá, Carla.</p>"))
    [(sender, rcpts, msg)] = handler.received
    assert sender == "atende@prefeitura.gov.br"
    assert rcpts == ["carla@example.com"]
    assert str(make_header(decode_header(msg["Subject"]))) == "Sua solicitação foi aprovada"
    assert text_of(msg).strip() == "Olá, Carla."
    assert [p.get_content_type() for p in msg.walk()][1:] == ["text/plain", "text/html"]


def test_the_platform_mails_through_smtp_when_configured(make_harness: Any,
                                                         smtp_server: Any) -> None:
    handler, port = smtp_server
    h = make_harness(notifier="smtp", smtp_host="127.0.0.1", smtp_port=port)
    rid = new_id()
    feed(h, submitted(rid), approved(rid))
    feed(h, FollowupPosted(request_id=rid, followup_id="f1", author=CITIZEN,
                           author_role="citizen", recipient=ASSIGNEE))
    h.drain()
    to = sorted(r[1][0] for r in handler.received)
    assert to == sorted([CITIZEN.email, ASSIGNEE.email, ASSIGNEE.email])
    assert all(n["mailed_at"] for n in inbox(h, ASSIGNEE.sub))


def test_smtp_down_is_an_error_the_broker_can_retry() -> None:
    with pytest.raises(OSError):
        SmtpMailer("127.0.0.1", _free_port(), "x@y", timeout=2).send(
            Mail(to="a@b", subject="s", text="t"))


# --- the mail job ----------------------------------------------------------------------


def _note_reads(h: Any, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The notifications the followups table is asked for, from now on."""
    table, reads = h.platform.contexts["followups"].table, []
    get = table.get

    def counted(pk: str, sk: str) -> Any:
        if pk.startswith("NOTE#"):
            reads.append(pk)
        return get(pk, sk)

    monkeypatch.setattr(table, "get", counted)
    return reads


def test_the_mail_job_reads_its_notification_once(harness: Any,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """What to send and whether it went out already come from one read, which also
    conditions the mark that it went out: each read was a statement and a decoding of the
    mail's texts."""
    ctx = harness.platform.contexts["followups"]
    ctx.deps.mailer = RecordingMailer()
    reads = _note_reads(harness, monkeypatch)
    rid = new_id()
    feed(harness, submitted(rid), analysis(rid))
    harness.drain()
    [note] = inbox(harness, CITIZEN.sub)
    assert [m.to for m in ctx.deps.mailer.sent] == [CITIZEN.email]
    assert note["mailed_at"] and note["mail"] is None
    assert reads == [f"NOTE#{note['id']}"]


def test_a_notification_read_while_its_mail_goes_out_keeps_both_marks(
        harness: Any) -> None:
    ctx = harness.platform.contexts["followups"]

    class ReadMeanwhile(RecordingMailer):
        def send(self, mail: Any) -> None:
            super().send(mail)
            [note] = inbox(harness, CITIZEN.sub)
            with ctx.uow() as uow:  # the citizen opens it as the mail leaves
                uow.save({**note, "read": True, "version": note["version"] + 1})
                uow.commit()

    ctx.deps.mailer = ReadMeanwhile()
    rid = new_id()
    feed(harness, submitted(rid), analysis(rid))
    harness.drain()
    [note] = inbox(harness, CITIZEN.sub)
    assert len(ctx.deps.mailer.sent) == 1
    assert note["read"] is True and note["mailed_at"] and note["mail"] is None
    assert note["version"] == 3
