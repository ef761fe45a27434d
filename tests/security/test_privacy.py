"""Issue 14, items 4 and 5: people are shown by name (never by a sub, which with gov.br is
a CPF), staff subs never reach a citizen, and no job's arguments reach a log line.

Run: ``pytest tests/security/test_privacy.py``."""

from __future__ import annotations

import io
import logging
import socket
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from shared import logs
from shared.identity import mint
from shared.outbox import UnitOfWork
from tests.helpers import setup_service, start_analysis

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
        try:
            yield cap
        finally:
            root.handlers[:], level, logs._batched = saved
            root.setLevel(level)
            quiet.setLevel(quiet_saved[0])
            quiet.propagate = quiet_saved[1]


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
