"""Helpers for the meetings tests: request events fed straight to the meetings consumer
(so a request is ``in_service`` without the requests service), the people involved, the
endpoints, and the events the service committed."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from services.meetings.app import SERVICE
from shared.clock import FrozenClock
from shared.messages import (
    AnalysisStarted,
    Event,
    Party,
    RequestApproved,
    RequestConcluded,
    RequestSnapshot,
    RequestSubmitted,
    RosterChanged,
)
from shared.outbox import UnitOfWork

ORG, UNIT = "pref-mt", "assistencia"
CITIZEN = Party(sub="clara", name="Clara Cidadã", email="clara@example.com")
ANALYST = Party(sub="andre", name="André Analista", email="andre@example.gov.br")
ASSIGNEE = Party(sub="beatriz", name="Beatriz Atendente", email="beatriz@example.gov.br")
OTHER_ASSIGNEE = Party(sub="bento", name="Bento Atendente", email="bento@example.gov.br")

# (sub, roles, org, unit) of everyone the tests use.
PEOPLE: dict[str, tuple[str, tuple[str, ...], str | None, str | None]] = {
    "citizen": (CITIZEN.sub, ("citizen",), None, None),
    "other_citizen": ("davi", ("citizen",), None, None),
    "analyst": (ANALYST.sub, ("attendant",), ORG, UNIT),
    "assignee": (ASSIGNEE.sub, ("attendant",), ORG, UNIT),
    "other_assignee": (OTHER_ASSIGNEE.sub, ("attendant",), ORG, UNIT),
    "colleague": ("caio", ("attendant",), ORG, UNIT),
    "other_unit": ("otavio", ("attendant",), ORG, "outra-unidade"),
    "registrar": ("rita", ("registrar",), ORG, None),
    "other_org": ("olga", ("registrar", "attendant"), "outra-org", UNIT),
}


def frozen() -> FrozenClock:
    """A clock at a round minute in real time (bearer tokens are checked in real time)."""
    return FrozenClock(datetime.now().astimezone().replace(second=0, microsecond=0))


def token(h: Any, who: str) -> dict[str, str]:
    """``who``'s bearer headers; an attendant is enrolled (enabled) in their unit too."""
    sub, roles, org, unit = PEOPLE[who]
    if "attendant" in roles and org and unit:
        enrol(h, sub, org, unit)
    party = {p.sub: p for p in (CITIZEN, ANALYST, ASSIGNEE, OTHER_ASSIGNEE)}.get(sub)
    name = party.name if party else sub.title()
    mail = party.email if party else None
    return h.auth(h.token(sub, *roles, org=org, unit=unit, name=name, email=mail))


def snapshot(status: str, version: int, assignee: Party = ASSIGNEE) -> RequestSnapshot:
    early = status in ("submitted", "in_analysis")
    return RequestSnapshot(
        version=version, status=status,  # type: ignore[arg-type]
        service_id="svc-beneficio", service_name="Benefício Eventual", org=ORG, unit=UNIT,
        citizen=CITIZEN, analyst=None if status == "submitted" else ANALYST,
        assignee=None if early else assignee)


def submitted(rid: str) -> RequestSubmitted:
    return RequestSubmitted(request_id=rid, request=snapshot("submitted", 1), actor=CITIZEN)


def analysis(rid: str) -> AnalysisStarted:
    return AnalysisStarted(request_id=rid, request=snapshot("in_analysis", 2), actor=ANALYST)


def approved(rid: str, assignee: Party = ASSIGNEE) -> RequestApproved:
    return RequestApproved(request_id=rid, request=snapshot("in_service", 5, assignee),
                           actor=ANALYST)


def concluded(rid: str, assignee: Party = ASSIGNEE) -> RequestConcluded:
    return RequestConcluded(request_id=rid, request=snapshot("concluded", 9, assignee),
                            actor=assignee, summary="Concedido.")


def feed(h: Any, *events: Event) -> list[bool]:
    ctx = h.platform.contexts["meetings"]
    return [_consumer(ctx)(e.model_dump(mode="json")) for e in events]


def enrol(h: Any, sub: str, org: str, unit: str, *, enabled: bool = True,
          version: int = 1) -> None:
    """The roster entry of ``sub`` as the requests service would publish it."""
    feed(h, RosterChanged(attendant=Party(sub=sub, name=sub.title()), org=org, unit=unit,
                          enabled=enabled, version=version))


def in_service(h: Any, rid: str, assignee: Party = ASSIGNEE) -> str:
    feed(h, submitted(rid), analysis(rid), approved(rid, assignee))
    return rid


def view(h: Any, rid: str) -> dict[str, Any] | None:
    return h.table("meetings").get(f"REQ#{rid}", "VIEW")


def at(clock: FrozenClock, **delta: float) -> str:
    """An ISO time ``delta`` from the clock's now, with the clock's (local) offset."""
    return (clock.now() + timedelta(**delta)).isoformat()


def schedule(h: Any, rid: str, starts_at: str, *, who: str = "assignee", status: int = 201,
             **extra: Any) -> dict[str, Any]:
    body = {"starts_at": starts_at, "subject": "Conferir documentos", **extra}
    r = h.client.simulate_post(f"/requests/{rid}/meetings", json=body, headers=token(h, who))
    assert r.status_code == status, r.text
    return r.json


def post(h: Any, path: str, body: dict[str, Any] | None, who: str | None = "assignee",
         status: int | None = None) -> Any:
    headers = token(h, who) if who else {}
    r = h.client.simulate_post(path, json=body, headers=headers)
    if status is not None:
        assert r.status_code == status, r.text
    return r


def record_events(monkeypatch: Any) -> list[Event]:
    """Every event committed from now on, in order (a failed commit records nothing)."""
    seen: list[Event] = []
    original = UnitOfWork.commit

    def commit(self: UnitOfWork) -> None:
        original(self)
        seen.extend(self.events)

    monkeypatch.setattr(UnitOfWork, "commit", commit)
    return seen


def rows(h: Any) -> int:
    """Rows the meetings service holds, outbox, consumer bookkeeping and the roster copy
    (which ``token`` feeds) aside."""
    table = h.table("meetings")
    return table.db.connection().execute(
        f'SELECT count(*) FROM "{table.name}" WHERE pk NOT IN (\'OUTBOX\', \'APPLIED\')'
        " AND pk NOT LIKE 'ROSTER#%'").fetchone()[0]


def _consumer(ctx: Any) -> Any:
    """The meetings service's queue consumer, as the bootstrap binds it."""
    return SERVICE.consumer(ctx)
