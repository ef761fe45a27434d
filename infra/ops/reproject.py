"""``atende ops reproject``: rebuild, from the requests store, what other services keep
of it.

The services that consume the request events each keep a projection of every request: the
newest RequestSnapshot its request events carried (one "view" item per request, read and
written by the service's ``repository.get_view`` / ``put_view``). Their source of truth is
the requests service's store, which keeps no separate event log (outbox entries go once
delivered): a request item IS the fold of all its events, and the snapshot every request
event carries is built from it. So re-running a projection means giving each request's
current snapshot to the service's projection, with the same rule its consumer applies
(newest version wins; a concurrent event delivery wins a write race), plus one more: a view
at the source's version but with other contents is rewritten, so a fixed projection bug or
a hand-damaged item heals. Only the views change: notifications, mails or meeting
cancellations that an event once caused are not caused again (replay dead letters for
those).

The requests service's own panel rows are rebuilt the same way, and the roster's copies
(from RosterChanged) by the consumers' own rule.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from infra.ops.stores import projecting, roster_copies, tables
from shared.settings import Settings
from shared.tables import Item, Table
from shared.topology import Topology

SOURCE = "requests"  # the store every copy is rebuilt from


@dataclass
class Reprojection:
    service: str
    requests: int = 0  # requests read from the requests store
    written: int = 0  # views created or rewritten (or, in a dry run, that would be)
    unchanged: int = 0
    skipped: int = 0  # the stored view was newer (an event arrived meanwhile)

    def count(self, outcome: str) -> None:
        """One request done: ``outcome`` is written, unchanged or skipped."""
        self.requests += 1
        setattr(self, outcome, getattr(self, outcome) + 1)


def _view_io(service: str) -> tuple[Any, Any, Any]:
    """The service's own projection reader, writer and view type."""
    repo = importlib.import_module(f"services.{service}.repository")
    view = importlib.import_module(f"services.{service}.model").RequestView
    return repo.get_view, repo.put_view, view


def _requests(source: Table, request_ids: list[str] | None) -> Iterator[Item]:
    """The given requests, or every one (an offline full scan, which no HTTP path does)."""
    if not request_ids:
        yield from source.scan("REQ#", "REQ")
        return
    yield from (i for i in (source.get(f"REQ#{r}", "REQ") for r in request_ids) if i)


def reproject(settings: Settings, services: list[str] | tuple[str, ...] | None = None,
              request_ids: list[str] | None = None, *, dry_run: bool = False
              ) -> list[Reprojection]:
    from services.requests.model import Request

    services = projecting() if services is None else services
    unknown = set(services) - {*projecting(), SOURCE}
    if unknown:
        raise ValueError(f"no request projection in {sorted(unknown)}")
    with tables(settings) as by_service:
        source = by_service[SOURCE]
        panel = Reprojection(SOURCE) if SOURCE in services else None
        targets = [(by_service[s], *_view_io(s), Reprojection(s)) for s in services if s != SOURCE]
        # Streamed: a million requests need not fit in memory.
        for item in _requests(source, request_ids):
            req = Request.from_doc(item)
            if panel is not None:
                panel.count(_panel_row_one(source, item, req, dry_run))
            snap = req.snapshot()
            for table, get, put, view_type, done in targets:
                done.count(_project_one(table, get, put, view_type(item["id"], snap), dry_run))
        return ([panel] if panel else []) + [done for *_, done in targets]


def _panel_row_one(table: Any, item: dict[str, Any], req: Any, dry_run: bool) -> str:
    """The requests service's own panel row of a request, as a command would write it now
    (a store from before panel rows has none), on condition that the request is still at
    the version read: a command meanwhile wrote a newer row itself."""
    from services.requests.store import panel_row
    from shared.tables import Check, ConditionFailed, Put

    row = panel_row(req)
    if table.get(row["pk"], row["sk"]) == row:
        return "unchanged"
    if dry_run:
        return "written"
    try:
        table.transact([Check(item["pk"], item["sk"], expect_version=item["version"]),
                        Put(row)])
    except ConditionFailed:
        return "skipped"
    return "written"


def _project_one(table: Any, get: Any, put: Any, view: Any, dry_run: bool) -> str:
    from shared.clock import SystemClock
    from shared.outbox import UnitOfWork
    from shared.tables import ConditionFailed

    def contents(v: Any) -> dict[str, Any]:
        return v.snapshot.model_dump(mode="json", exclude={"version"})

    for _ in range(5):
        current = get(table, view.id)
        if current is not None and current.version > view.version:
            return "skipped"
        # The source's version may be ahead with the same contents (the requests service
        # counts other services' activity too): nothing for this projection to learn.
        if current is not None and contents(current) == contents(view):
            return "unchanged"
        if dry_run:
            return "written"
        uow = UnitOfWork(table, None, SystemClock(), Topology())  # it tells nobody
        put(uow, view, current)
        try:
            uow.commit()
        except ConditionFailed:
            continue  # an event delivery wrote it meanwhile: look again
        return "written"
    return "skipped"


# --- the roster's copies: a store from before the services kept one judged every
# attendant a stranger there.


@dataclass
class RosterCopy:
    service: str
    entries: int = 0  # roster entries read from the requests store
    written: int = 0
    unchanged: int = 0  # the copy was as new as the source, or newer

    def count(self, outcome: str) -> None:
        self.entries += 1
        setattr(self, outcome, getattr(self, outcome) + 1)


def reproject_roster(settings: Settings, services: Iterable[str] | None = None, *,
                     dry_run: bool = False) -> list[RosterCopy]:
    from shared.clock import SystemClock
    from shared.messages import Party, RosterChanged
    from shared.outbox import UnitOfWork
    from shared.roster import apply_roster, get_entry
    from shared.tables import ConditionFailed

    with tables(settings) as by_service:
        targets = [(by_service[s], RosterCopy(s))
                   for s in (roster_copies() if services is None else services)]
        for item in by_service[SOURCE].scan("ROSTER#"):
            entry = RosterChanged(
                attendant=Party(sub=item["sub"], name=item["name"], email=item.get("email")),
                org=item["org"], unit=item["unit"], enabled=item["enabled"],
                version=int(item["version"]))
            for table, done in targets:
                outcome = "unchanged"
                for _ in range(5):
                    current = get_entry(table, entry.org, entry.attendant.sub)
                    if current is not None and int(current["version"]) >= entry.version:
                        break
                    outcome = "written"
                    if dry_run:
                        break
                    uow = UnitOfWork(table, None, SystemClock(), Topology())  # it tells nobody
                    apply_roster(uow, entry)
                    try:
                        uow.commit()
                        break
                    except ConditionFailed:
                        outcome = "unchanged"  # an event delivery wrote it meanwhile: look again
                done.count(outcome)
        return [done for _, done in targets]
