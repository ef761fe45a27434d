"""Helpers for the reviews tests: request events fed straight to the reviews consumer, and
the people who act on reviews."""

from __future__ import annotations

from typing import Any

from services.reviews.app import SERVICE as REVIEWS
from shared.ids import new_id
from shared.messages import (
    Party,
    RequestApproved,
    RequestConcluded,
    RequestEvent,
    RequestSnapshot,
    RequestSubmitted,
    RosterChanged,
)

ORG, UNIT, SERVICE = "pref-rv", "tributos", "svc-iptu"
CITIZEN = Party(sub="ana", name="Ana Maria Souza", email="ana@example.com")
ASSIGNEE = Party(sub="bruno", name="Bruno Atendente")


def snapshot(status: str, version: int, *, service_id: str = SERVICE, org: str = ORG,
             unit: str = UNIT, citizen: Party = CITIZEN) -> RequestSnapshot:
    return RequestSnapshot(version=version, status=status,  # type: ignore[arg-type]
                           service_id=service_id, service_name="IPTU", org=org, unit=unit,
                           citizen=citizen, assignee=ASSIGNEE if version > 1 else None)


def submitted(rid: str, **kw: Any) -> RequestSubmitted:
    return RequestSubmitted(request_id=rid, request=snapshot("submitted", 1, **kw),
                            actor=kw.get("citizen", CITIZEN))


def approved(rid: str, **kw: Any) -> RequestApproved:
    return RequestApproved(request_id=rid, request=snapshot("in_service", 4, **kw),
                           actor=ASSIGNEE)


def concluded(rid: str, **kw: Any) -> RequestConcluded:
    return RequestConcluded(request_id=rid, request=snapshot("concluded", 6, **kw),
                            actor=ASSIGNEE, summary="Feito.")


def feed(h: Any, *events: RequestEvent | RosterChanged) -> list[bool]:
    ctx = h.platform.contexts["reviews"]
    return [_consumer(ctx)(e.model_dump(mode="json")) for e in events]


def enrol(h: Any, sub: str, org: str, unit: str, *, enabled: bool = True,
          version: int = 1) -> None:
    """The roster entry of ``sub`` as the requests service would publish it."""
    feed(h, RosterChanged(attendant=Party(sub=sub, name=sub.title()), org=org, unit=unit,
                          enabled=enabled, version=version))


def concluded_request(h: Any, **kw: Any) -> str:
    rid = new_id()
    feed(h, submitted(rid, **kw), approved(rid, **kw), concluded(rid, **kw))
    return rid


def people(h: Any) -> dict[str, dict[str, str]]:
    t = {
        "citizen": h.token("ana", "citizen", name="Ana Maria Souza"),
        "other_citizen": h.token("beto", "citizen", name="Beto Lima"),
        "attendant": h.token("bruno", "attendant", org=ORG, unit=UNIT, name="Bruno A"),
        "other_unit": h.token("otto", "attendant", org=ORG, unit="saude", name="Otto O"),
        "registrar": h.token("regina", "registrar", org=ORG, name="Regina R"),
        "other_org": h.token("xavier", "attendant", org="pref-xx", unit=UNIT, name="Xavier"),
    }
    # Every attendant here is an enabled one of the unit their token names.
    for sub, org, unit in (("bruno", ORG, UNIT), ("otto", ORG, "saude"),
                           ("xavier", "pref-xx", UNIT)):
        enrol(h, sub, org, unit)
    return {k: h.auth(v) for k, v in t.items()}


def review(h: Any, rid: str, headers: dict[str, str], **body: Any) -> Any:
    return h.client.simulate_post(f"/requests/{rid}/review", headers=headers,
                                  json=body or {"verdict": "approved"})


def _consumer(ctx: Any) -> Any:
    """The reviews service's queue consumer, as the bootstrap binds it."""
    return REVIEWS.consumer(ctx)
