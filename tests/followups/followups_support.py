"""Helpers for the followups tests: request events fed straight to the followups consumer
(so a request can be put in any state without the requests service), the people involved,
and what the service stored."""

from __future__ import annotations

import email
from email.message import Message
from pathlib import Path
from typing import Any

from services.followups.app import SERVICE
from shared.messages import (
    AnalysisStarted,
    Event,
    Party,
    RequestApproved,
    RequestConcluded,
    RequestEvent,
    RequestRejected,
    RequestSnapshot,
    RequestSubmitted,
    RosterChanged,
)

ORG, UNIT, SERVICE_NAME = "pref-fu", "habitacao", "Auxílio Moradia"
CITIZEN = Party(sub="carla", name="Carla Cidadã", email="carla@example.com")
ANALYST = Party(sub="alan", name="Alan Analista", email="alan@example.gov.br")
ASSIGNEE = Party(sub="bia", name="Bia Atendente", email="bia@example.gov.br")
# The mail queue by the name operators see (docs/operations.md), not derived from the contract:
# a rename shows up here.
MAIL_QUEUE = "followups-mail"

# (sub, roles, org, unit) of everyone the tests use; tokens come from ``token``.
PEOPLE: dict[str, tuple[str, tuple[str, ...], str | None, str | None]] = {
    "citizen": (CITIZEN.sub, ("citizen",), None, None),
    "other_citizen": ("davi", ("citizen",), None, None),
    "analyst": (ANALYST.sub, ("attendant",), ORG, UNIT),
    "assignee": (ASSIGNEE.sub, ("attendant",), ORG, UNIT),
    "colleague": ("caio", ("attendant",), ORG, UNIT),
    "other_unit": ("otavio", ("attendant",), ORG, "outra-unidade"),
    "registrar": ("rita", ("registrar",), ORG, None),
    "other_org": ("olga", ("registrar",), "outra-org", None),
}


def token(h: Any, who: str) -> dict[str, str]:
    """``who``'s bearer headers; an attendant is enrolled (enabled) in their unit too."""
    sub, roles, org, unit = PEOPLE[who]
    if "attendant" in roles and org and unit:
        enrol(h, sub, org, unit)
    party = {p.sub: p for p in (CITIZEN, ANALYST, ASSIGNEE)}.get(sub)
    name = party.name if party else sub.title()
    mail = party.email if party else None
    return h.auth(h.token(sub, *roles, org=org, unit=unit, name=name, email=mail))


def snapshot(status: str, version: int, *, assignee: Party | None = ASSIGNEE,
             citizen: Party = CITIZEN) -> RequestSnapshot:
    early = status in ("submitted", "in_analysis", "rejected")
    return RequestSnapshot(
        version=version, status=status,  # type: ignore[arg-type]
        service_id="svc-moradia", service_name=SERVICE_NAME, org=ORG, unit=UNIT,
        citizen=citizen, analyst=None if status == "submitted" else ANALYST,
        assignee=None if early else assignee)


def submitted(rid: str) -> RequestSubmitted:
    return RequestSubmitted(request_id=rid, request=snapshot("submitted", 1), actor=CITIZEN)


def analysis(rid: str) -> AnalysisStarted:
    return AnalysisStarted(request_id=rid, request=snapshot("in_analysis", 2), actor=ANALYST)


def rejected(rid: str, justification: str = "Faltou o comprovante de renda.") -> RequestRejected:
    return RequestRejected(request_id=rid, request=snapshot("rejected", 3), actor=ANALYST,
                           justification=justification)


def approved(rid: str, **kw: Any) -> RequestApproved:
    return RequestApproved(request_id=rid, request=snapshot("in_service", 5, **kw),
                           actor=ANALYST)


def concluded(rid: str, summary: str = "Benefício concedido.") -> RequestConcluded:
    return RequestConcluded(request_id=rid, request=snapshot("concluded", 9), actor=ASSIGNEE,
                            summary=summary, has_attachment=True)


def feed(h: Any, *events: Event) -> list[bool]:
    ctx = h.platform.contexts["followups"]
    return [_consumer(ctx)(e.model_dump(mode="json")) for e in events]


def enrol(h: Any, sub: str, org: str, unit: str, *, enabled: bool = True,
          version: int = 1) -> None:
    """The roster entry of ``sub`` as the requests service would publish it."""
    feed(h, RosterChanged(attendant=Party(sub=sub, name=sub.title()), org=org, unit=unit,
                          enabled=enabled, version=version))


def to_state(h: Any, rid: str, state: str) -> None:
    """Put the followups projection of ``rid`` in ``state`` through request events."""
    chain: dict[str, list[RequestEvent]] = {
        "submitted": [submitted(rid)],
        "in_analysis": [submitted(rid), analysis(rid)],
        "rejected": [submitted(rid), analysis(rid), rejected(rid)],
        "in_service": [submitted(rid), analysis(rid), approved(rid)],
        "concluded": [submitted(rid), analysis(rid), approved(rid), concluded(rid)],
    }
    feed(h, *chain[state])


def view(h: Any, rid: str) -> dict[str, Any] | None:
    return h.table("followups").get(f"REQ#{rid}", "VIEW")


def inbox(h: Any, sub: str) -> list[dict[str, Any]]:
    """Every notification of ``sub``, newest first, straight from the table."""
    return h.table("followups").query(f"INBOX#{sub}", index="gsi1", forward=False,
                                      limit=1000).items


def mail_jobs(h: Any) -> list[dict[str, Any]]:
    """Mail jobs in the outbox (pending or dead), oldest first."""
    items = h.table("followups").query("OUTBOX", limit=1000).items
    return [i["event"] for i in items if i.get("actor") == "followups_send_mail"]


def mails(h: Any) -> list[Message]:
    root = Path(h.platform.settings.data_dir) / "mail"
    files = sorted(root.glob("*.eml")) if root.exists() else []
    return [email.message_from_bytes(p.read_bytes()) for p in files]


def text_of(msg: Message) -> str:
    """The text/plain part of a mail, decoded."""
    for part in msg.walk():
        if part.get_content_type() == "text/plain":
            payload = part.get_payload(decode=True)
            assert isinstance(payload, bytes)
            return payload.decode(part.get_content_charset() or "utf-8")
    raise AssertionError("no text part")


class FailingMailer:
    def __init__(self) -> None:
        self.attempts = 0

    def send(self, mail: Any) -> None:
        self.attempts += 1
        raise ConnectionRefusedError("mail server down")


class RecordingMailer:
    def __init__(self) -> None:
        self.sent: list[Any] = []

    def send(self, mail: Any) -> None:
        self.sent.append(mail)


def _consumer(ctx: Any) -> Any:
    """The followups service's queue consumer, as the bootstrap binds it."""
    return SERVICE.consumer(ctx)
