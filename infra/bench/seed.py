"""Bench data written straight into the store through the services' own model and
repositories, in large transactions: 100,000 requests over HTTP would take minutes.

Events are not published (no outbox entries): the projections that other services would
build from them (the follow-ups service's request view) are written here directly, so a
started platform finds a settled store with nothing in flight."""

from __future__ import annotations

import contextlib
import shutil
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from infra.bootstrap import build
from services.followups import repository as followups_repo
from services.followups.model import RequestView
from services.meetings import repository as meetings_repo
from services.meetings.model import RequestView as MeetingsView
from services.requests import handlers as requests_handlers
from services.requests import store
from services.requests.model import Request, party
from services.requests.schemas import AttendantIn, ServiceIn
from shared.clock import SystemClock, iso
from shared.identity import Principal, dev_secret, mint
from shared.ids import new_id
from shared.messages import RosterChanged
from shared.outbox import OUTBOX_PK, UnitOfWork
from shared.roster import apply_roster
from shared.settings import Settings
from shared.tables import ConditionFailed, Put, Table
from shared.topology import Topology

ORG, UNIT = "pref", "atend"
ATTENDANT = Principal(sub="att-1", name="Ana", roles=("attendant",), org=ORG, unit=UNIT)
REGISTRAR = Principal(sub="reg-1", name="Regina", roles=("registrar",), org=ORG)
BATCH = 500


@dataclass
class Seeded:
    data_dir: Path
    service_id: str
    request_ids: list[str]  # newest last; all in_service with att-1 as assignee
    tokens: dict[str, str] = field(default_factory=dict)  # attendant, citizen
    long_timeline: str | None = None  # a request with ``timeline`` entries
    short_timeline: str | None = None  # one with about 10


def settings_for(data_dir: Path, **extra: Any) -> Settings:
    return Settings(data_dir=data_dir, **extra)


def _commit(table: Table, uow: UnitOfWork) -> None:
    """Commit the buffered writes without the outbox entries (see the module note)."""
    writes = [w for w in uow.writes
              if not (isinstance(w, Put) and w.item.get("pk") == OUTBOX_PK)]
    if writes:
        table.transact(writes)
    uow.writes.clear()
    uow.entries.clear()
    uow.events.clear()


def seed(data_dir: Path, requests: int, *, in_service: bool = True, timeline: int = 0,
         extra: dict[str, Any] | None = None) -> Seeded:
    """``requests`` requests in one unit, by ``requests`` distinct citizens; ``extra``:
    more settings (the store's, for PostgreSQL)."""
    shutil.rmtree(data_dir, ignore_errors=True)  # a bench store starts empty
    settings = settings_for(data_dir, **(extra or {}))
    platform = build(settings, with_http=False)
    rctx, fctx = platform.contexts["requests"], platform.contexts["followups"]
    mctx = platform.contexts["meetings"]
    clock = platform.clock
    with rctx.uow() as uow:
        service = requests_handlers.create_service(uow, REGISTRAR, ServiceIn.model_validate({
            "name": "Certidão", "unit": UNIT, "deadline_days": 10, "steps": [],
            "form": [{"key": "nome", "label": "Nome", "type": "text", "required": True}]}),
            clock)
        requests_handlers.enrol(uow, REGISTRAR, ATTENDANT.sub,
                                AttendantIn(name="Ana", unit=UNIT, enabled=True))
        uow.commit()
    # The followups and meetings services' copies of that roster entry, as its event
    # would make them (the bench posts follow-ups as this attendant, and the console's
    # detail lists the request's meetings), written now rather than waited for.
    event = next(e for e in uow.events if isinstance(e, RosterChanged))
    for ctx in (fctx, mctx):
        # ConditionFailed: the event's own delivery wrote it first.
        with ctx.uow() as cuow, contextlib.suppress(ConditionFailed):
            if apply_roster(cuow, event):
                cuow.commit()
    svc = store.get_service(rctx.uow(), service.id) or {}
    analyst = party(ATTENDANT.sub, "Ana", "ana@example.gov.br")
    start = datetime.now(UTC) - timedelta(days=1)
    ids: list[str] = []
    ruow, fuow, muow = rctx.uow(), fctx.uow(), mctx.uow()
    for n in range(requests):
        now = start + timedelta(microseconds=500 * n)
        req = Request.submit(id=new_id(), service=svc, answers={"nome": f"Pessoa {n}"},
                             citizen=party(f"cid-{n}", f"Pessoa {n}", f"c{n}@example.com"),
                             now=now)
        store.save_request(ruow, req)
        if in_service:
            req.start_analysis(analyst, now)
            store.save_request(ruow, req)
            req.approve(analyst, analyst, now)
            store.save_request(ruow, req)
            followups_repo.put_view(fuow, RequestView(req.id, req.snapshot()), None)
            meetings_repo.put_view(muow, MeetingsView(req.id, req.snapshot()), None)
        ids.append(req.id)
        if len(ruow.writes) >= BATCH:
            _commit(rctx.table, ruow)
            _commit(fctx.table, fuow)
            _commit(mctx.table, muow)
    _commit(rctx.table, ruow)
    _commit(fctx.table, fuow)
    _commit(mctx.table, muow)
    seeded = Seeded(data_dir, service.id, ids)
    if timeline and ids:
        seeded.long_timeline = _grow_timeline(rctx.table, ids[0], timeline)
        seeded.short_timeline = _grow_timeline(rctx.table, ids[1 % len(ids)], 10)
    secret = dev_secret(settings)
    opts: dict[str, Any] = {"issuer": settings.jwt_issuer, "audience": settings.jwt_audience,
                            "ttl": 6 * 3600}
    seeded.tokens = {
        "attendant": mint(secret, sub=ATTENDANT.sub, roles=["attendant"], name="Ana", org=ORG,
                          unit=UNIT, **opts),
        "citizen": mint(secret, sub="cid-0", roles=["citizen"], name="Pessoa 0", **opts),
    }
    platform.close_broker()
    platform.close()
    return seeded


def _grow_timeline(table: Table, request_id: str, entries: int) -> str:
    """Bring the request's timeline up to ``entries`` entries, as follow-ups would."""
    uow = UnitOfWork(table, None, SystemClock(), Topology())  # it tells nobody
    req = store.get_request(uow, request_id)
    assert req is not None
    have = len(table.query(f"REQ#{request_id}", prefix="TL#", limit=1000).items)
    base = datetime.now(UTC) - timedelta(hours=1)
    for n in range(max(0, entries - have)):
        at = base + timedelta(milliseconds=n)
        req.note_activity({"at": iso(at), "type": "FollowupPosted", "actor": None,
                           "data": {"followup_id": new_id(), "author_role": "attendant",
                                    "attachments": []}}, at)
        store.save_request(uow, req)
        if len(uow.writes) >= BATCH:
            _commit(table, uow)
    _commit(table, uow)
    return request_id
