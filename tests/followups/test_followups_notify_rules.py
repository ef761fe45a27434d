"""Every rule of API.md's "Who is told what": for each event, exactly who gets an in-app
notification and a mail, and what the texts say (and never say)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from services.followups.notifications import render
from shared import messages as m
from shared.ids import new_id
from tests.followups.followups_support import (
    ANALYST,
    ASSIGNEE,
    CITIZEN,
    SERVICE_NAME,
    RecordingMailer,
    analysis,
    approved,
    concluded,
    feed,
    inbox,
    rejected,
    snapshot,
    submitted,
    to_state,
)

START = datetime(2025, 5, 12, 17, 30, tzinfo=UTC)
GUEST = m.Party(sub="guest-1", name="Gil Convidado", email="gil@example.org")


def _meeting(kind: type[m.MeetingEvent], rid: str, **kw: Any) -> m.MeetingEvent:
    return kind(request_id=rid, meeting_id="mt-1", subject="Conferir documentos",
                starts_at=START, ends_at=START + timedelta(hours=1), actor=ASSIGNEE,
                citizen=CITIZEN, attendant=ASSIGNEE, **kw)


def _followup(role: str) -> Callable[[str], m.Event]:
    author, other = (CITIZEN, ASSIGNEE) if role == "citizen" else (ASSIGNEE, CITIZEN)
    return lambda rid: m.FollowupPosted(request_id=rid, followup_id="fu-1", author=author,
                                        author_role=role, attachments=1,  # type: ignore
                                        recipient=other)


CASES: dict[str, tuple[Callable[[str], m.Event], dict[str, str], dict[str, list[str]]]] = {
    # name: (event, {sub: kind}, {sub: words its texts must carry})
    "analysis": (analysis, {"carla": "analysis_started"}, {"carla": ["análise"]}),
    "rejection": (rejected, {"carla": "request_rejected"},
                  {"carla": ["indeferida", "Faltou o comprovante de renda."]}),
    "approval": (approved, {"carla": "request_approved", "bia": "request_assigned"},
                 {"carla": ["aprovada", "Bia Atendente"], "bia": ["atribuída", "Carla Cidadã"]}),
    "conclusion": (concluded, {"carla": "request_concluded"},
                   {"carla": ["concluído", "documento de conclusão"]}),
    "followup_from_staff": (_followup("attendant"), {"carla": "followup_posted"},
                            {"carla": ["Bia Atendente", "1 anexo"]}),
    "followup_from_citizen": (_followup("citizen"), {"bia": "followup_posted"},
                              {"bia": ["Carla Cidadã", "1 anexo"]}),
    "meeting_scheduled": (lambda rid: _meeting(m.MeetingScheduled, rid),
                          {"carla": "meeting_scheduled"},
                          {"carla": ["agendada", "12/05/2025 às 14:30", "Conferir documentos"]}),
    "meeting_rescheduled": (lambda rid: _meeting(m.MeetingRescheduled, rid,
                                                 previous_starts_at=START - timedelta(days=1)),
                            {"carla": "meeting_rescheduled"},
                            {"carla": ["remarcada", "11/05/2025 às 14:30",
                                       "12/05/2025 às 14:30"]}),
    "meeting_canceled": (lambda rid: _meeting(m.MeetingCanceled, rid, reason="Motivo X"),
                         {"carla": "meeting_canceled"}, {"carla": ["cancelada"]}),
    "reminder": (lambda rid: _meeting(m.MeetingReminderDue, rid,
                                      recipients=[CITIZEN, ASSIGNEE, GUEST, CITIZEN]),
                 {"carla": "meeting_reminder", "bia": "meeting_reminder",
                  "guest-1": "meeting_reminder"},
                 {s: ["Lembrete", "14:30"] for s in ("carla", "bia", "guest-1")}),
    "verdict": (lambda rid: m.ReviewSubmitted(request_id=rid, review_id="rv-1",
                                              service_id="svc-moradia", verdict="rejected",
                                              rating=2, citizen=CITIZEN, assignee=ASSIGNEE),
                {"bia": "citizen_verdict"},
                {"bia": ["reprovou", "2 de 5", "Carla Cidadã"]}),
    "submitted": (submitted, {}, {}),
    "step_checked": (lambda rid: m.StepChecked(request_id=rid, request=snapshot(
        "in_analysis", 3), actor=ANALYST, step_key="renda", ok=False), {}, {}),
    "guest_invited": (lambda rid: _meeting(m.GuestInvited, rid, guest=GUEST), {}, {}),
    "meeting_joined": (lambda rid: _meeting(m.MeetingJoined, rid, participant=CITIZEN,
                                            role="citizen"), {}, {}),
    "moderated": (lambda rid: m.ReviewModerated(request_id=rid, review_id="rv-1",
                                                decision="reject", citizen=CITIZEN,
                                                actor=ASSIGNEE),
                  {"carla": "review_moderated"}, {"carla": ["não foi publicada"]}),
    "moderated_ok": (lambda rid: m.ReviewModerated(request_id=rid, review_id="rv-2",
                                                   decision="approve", citizen=CITIZEN,
                                                   actor=ASSIGNEE),
                     {"carla": "review_moderated"}, {"carla": ["foi publicada"]}),
}
EVERYONE = (CITIZEN.sub, ASSIGNEE.sub, ANALYST.sub, GUEST.sub)


@pytest.mark.parametrize("case", list(CASES))
def test_rule(harness: Any, case: str) -> None:
    make, expected, words = CASES[case]
    ctx = harness.platform.contexts["followups"]
    rid = new_id()
    to_state(harness, rid, "in_service")
    harness.drain()
    before = {sub: len(inbox(harness, sub)) for sub in EVERYONE}
    recorder = RecordingMailer()
    ctx.deps.mailer = recorder
    event = make(rid)
    feed(harness, event)
    harness.drain()
    got = {}
    for sub in EVERYONE:
        new = inbox(harness, sub)[: len(inbox(harness, sub)) - before[sub]]
        assert len(new) <= 1, (sub, new)
        if new:
            got[sub] = new[0]
    assert {sub: n["kind"] for sub, n in got.items()} == expected
    addresses = {p.sub: p.email for p in (CITIZEN, ASSIGNEE, GUEST)}
    assert sorted(mail.to for mail in recorder.sent) == sorted(addresses[s] for s in expected)
    for sub, note in got.items():
        assert note["request_id"] == rid
        assert note["read"] is False
        mail = next(x for x in recorder.sent if x.to == addresses[sub])
        assert mail.subject == note["title"]
        for text in (note["title"] + " " + note["body"], mail.text, mail.html):
            assert SERVICE_NAME in text
            assert rid in text
            assert "Benefício concedido." not in text  # the conclusion's text, never
            assert "Motivo X" not in text
        for word in words[sub]:
            assert word in note["title"] + " " + note["body"], (word, note)
            assert word in mail.subject + " " + mail.text


def test_recipients_without_email_get_in_app_only(harness: Any) -> None:
    ctx = harness.platform.contexts["followups"]
    rid = "req-sem-email"
    no_mail = m.Party(sub="carla", name="Carla Cidadã", email=None)
    to_state(harness, rid, "in_service")
    harness.drain()
    recorder = RecordingMailer()
    ctx.deps.mailer = recorder
    feed(harness, m.FollowupPosted(request_id=rid, followup_id="fu-9", author=ASSIGNEE,
                                   author_role="attendant", recipient=no_mail))
    harness.drain()
    assert inbox(harness, "carla")[0]["kind"] == "followup_posted"
    assert recorder.sent == []


def test_html_is_escaped_and_text_is_not(harness: Any) -> None:
    rid = "req-html"
    sneaky = m.Party(sub="bia", name="<b>Bia</b> & cia", email="bia@example.gov.br")
    event = m.FollowupPosted(request_id=rid, followup_id="f", author=sneaky,
                             author_role="attendant", recipient=CITIZEN)
    msg = render("followup_posted", event, None, CITIZEN)
    assert "<b>Bia</b> & cia" in msg.text
    assert "&lt;b&gt;Bia&lt;/b&gt; &amp; cia" in msg.html
    assert "<b>Bia</b>" not in msg.html
    assert msg.html.lstrip().startswith("<!DOCTYPE html>")
    assert "Olá, Carla Cidadã." in msg.text


def test_templates_are_compiled_once_and_not_looked_at_again(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A template is compiled on its first use and kept: no later message stats its file
    or reads it again (the worker renders three for every notification it writes)."""
    from services.followups import notifications

    event = m.FollowupPosted(request_id="req-1", followup_id="f", author=ASSIGNEE,
                             author_role="attendant", recipient=CITIZEN)
    first = render("followup_posted", event, None, CITIZEN, "https://a.gov.br/{id}")

    def untouchable(*args: Any) -> Any:
        raise AssertionError("a template file was looked at again")

    monkeypatch.setattr("os.path.getmtime", untouchable)
    monkeypatch.setattr(notifications._env().loader, "get_source", untouchable)
    assert render("followup_posted", event, None, CITIZEN, "https://a.gov.br/{id}") == first
