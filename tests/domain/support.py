"""What the domain tests share: the people of one institution, a request's snapshot at
each step as the requests service publishes it, and ``Store``, which runs commands in
units of work over one SQLite table and keeps what they committed."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import pytest

from shared import messages as m
from shared.clock import FrozenClock
from shared.errors import DomainError
from shared.identity import Principal
from shared.outbox import OUTBOX_PK, UnitOfWork
from shared.tables import Item
from shared.tables.sqlite import SQLiteTable
from shared.topology import Topology

T = TypeVar("T")

# A Monday at 09:00 in Brasília: far from midnight, so no test depends on the date rolling.
NOON = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
# A request's steps, a minute apart: what is listed by time has one order only.
STEP = timedelta(minutes=1)

ORG, UNIT, OTHER_UNIT = "pref-exemplo", "protocolo", "obras"
SERVICE_ID, SERVICE_NAME = "svc-alvara", "Alvará de funcionamento"


def _person(sub: str, name: str, *roles: str, email: str | None = None,
            org: str | None = None, unit: str | None = None) -> Principal:
    return Principal(sub=sub, name=name, email=email, roles=roles, org=org, unit=unit)


CITIZEN = _person("carla", "Carla Cidadã Souza", "citizen", email="carla@example.com")
OTHER_CITIZEN = _person("davi", "Davi Dias", "citizen")
ANALYST = _person("ana", "Ana Analista", "attendant", email="ana@example.gov.br",
                  org=ORG, unit=UNIT)
ASSIGNEE = _person("bruno", "Bruno Braga", "attendant", email="bruno@example.gov.br",
                   org=ORG, unit=UNIT)
COLLEAGUE = _person("caio", "Caio Colega", "attendant", org=ORG, unit=UNIT)
ELSEWHERE = _person("olga", "Olga Obras", "attendant", org=ORG, unit=OTHER_UNIT)
REGISTRAR = _person("rita", "Rita Registro", "registrar", org=ORG)
FOREIGN = _person("fabio", "Fábio Fora", "attendant", "registrar", org="outra-org", unit=UNIT)


def party(p: Principal) -> m.Party:
    return m.Party(sub=p.sub, name=p.name, email=p.email)


def snapshot(status: str, version: int, *, assignee: Principal | None = ASSIGNEE
             ) -> m.RequestSnapshot:
    """The request as its events carry it; analyst and assignee appear as it moves on."""
    return m.RequestSnapshot(
        version=version, status=status,  # type: ignore[arg-type]
        service_id=SERVICE_ID, service_name=SERVICE_NAME, org=ORG, unit=UNIT,
        citizen=party(CITIZEN),
        analyst=None if status == "submitted" else party(ANALYST),
        assignee=party(assignee) if assignee and status in ("in_service", "concluded")
        else None)


def submitted(rid: str, at: datetime = NOON) -> m.RequestSubmitted:
    return m.RequestSubmitted(request_id=rid, occurred_at=at, request=snapshot("submitted", 1),
                              actor=party(CITIZEN))


def analysis(rid: str, at: datetime = NOON + STEP) -> m.AnalysisStarted:
    return m.AnalysisStarted(request_id=rid, occurred_at=at,
                             request=snapshot("in_analysis", 2), actor=party(ANALYST))


def approved(rid: str, at: datetime = NOON + 2 * STEP) -> m.RequestApproved:
    return m.RequestApproved(request_id=rid, occurred_at=at,
                             request=snapshot("in_service", 3), actor=party(ANALYST))


def concluded(rid: str, at: datetime = NOON + 3 * STEP) -> m.RequestConcluded:
    return m.RequestConcluded(request_id=rid, occurred_at=at,
                              request=snapshot("concluded", 4), actor=party(ASSIGNEE),
                              summary="Alvará emitido.")


def in_service(rid: str) -> list[m.RequestEvent]:
    return [submitted(rid), analysis(rid), approved(rid)]


def reassigned(rid: str, to: Principal, at: datetime = NOON + 3 * STEP) -> m.RequestReassigned:
    return m.RequestReassigned(request_id=rid, occurred_at=at,
                               request=snapshot("in_service", 4, assignee=to),
                               actor=party(REGISTRAR), previous=party(ASSIGNEE),
                               reason="Férias do atendente")


def enrolled(p: Principal, *, unit: str | None = None, enabled: bool = True,
             version: int = 1) -> m.RosterChanged:
    """A roster entry as the requests service publishes it to the others."""
    return m.RosterChanged(attendant=party(p), org=p.org or ORG, unit=unit or p.unit or UNIT,
                           enabled=enabled, version=version)


# The roster every service's copy starts from: the unit's three attendants, one elsewhere.
ROSTER = [enrolled(ANALYST), enrolled(ASSIGNEE), enrolled(COLLEAGUE), enrolled(ELSEWHERE)]


def delivered(event: m.Event, schemas: Mapping[str, type[m.Event]] | None = None) -> m.Event:
    """The event as a consumer gets it: through its JSON form, as the broker carries it,
    read with the consumer's own models (its contract's ``schemas``) before the kernel's."""
    return m.Event.parse(event.model_dump(mode="json"), schemas)


class Store:
    """One service's table, and commands run against it as the HTTP edge and the workers
    run them: one unit of work each, committed only if the command returns."""

    def __init__(self, table: SQLiteTable, clock: FrozenClock, topology: Topology) -> None:
        self.table = table
        self.clock = clock
        self.topology = topology
        self.committed: list[m.Event] = []

    def uow(self) -> UnitOfWork:
        return UnitOfWork(self.table, None, self.clock, self.topology)

    def run(self, command: Callable[[UnitOfWork], T]) -> T:
        with self.uow() as uow:
            result = command(uow)
            uow.commit()
        self.committed.extend(uow.events)
        return result

    def feed(self, effect: Callable[[UnitOfWork, m.Event], Any], *events: m.Event,
             schemas: Mapping[str, type[m.Event]] | None = None) -> list[Any]:
        """Each event applied by ``effect`` in a unit of its own, as a consumer does (read
        with ``schemas``, the consuming service's own models, first)."""
        return [self.run(lambda uow, e=e: effect(uow, delivered(e, schemas))) for e in events]

    def refused(self, command: Callable[[UnitOfWork], Any], error: type[DomainError]
                ) -> DomainError:
        """Run a command that must fail with ``error`` and leave the table as it was."""
        before = self.rows()
        with pytest.raises(error) as info:
            self.run(command)
        assert self.rows() == before, "a refused command stored something"
        return info.value

    def rows(self) -> list[tuple[str, str, str]]:
        conn = self.table.db.connection()
        return conn.execute(
            f'SELECT pk, sk, body FROM "{self.table.name}" ORDER BY pk, sk').fetchall()

    def outbox(self) -> list[Item]:
        return self.table.query(OUTBOX_PK, limit=1000).items

    def events(self, kind: type[m.Event]) -> list[Any]:
        return [e for e in self.committed if isinstance(e, kind)]
