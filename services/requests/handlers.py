"""Commands and queries of the requests service. Each takes its collaborators as
parameters, registers writes and events in the unit of work and returns the response."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from services.requests import store, views
from services.requests.forms import check_answers
from services.requests.model import OPEN, Doc, Request, party
from services.requests.schemas import (
    AttendantIn,
    AttendantOut,
    AttendantPage,
    DocumentOut,
    RequestIn,
    RequestOut,
    ServiceIn,
    ServiceOut,
    ServicePage,
    ServicePatch,
    TimelinePage,
)
from shared import messages as m
from shared.blobs import Blobs
from shared.clock import Clock, iso
from shared.errors import (
    ConflictOfInterest,
    Forbidden,
    NotFound,
    ValidationFailed,
)
from shared.files import Upload
from shared.identity import Principal
from shared.ids import new_id
from shared.outbox import UnitOfWork
from shared.preconditions import Expected
from shared.roster import entry_keys, forbid_own, is_enabled, require_enabled
from shared.tables import JsonPage, ReadItems, Table, Where

# --- catalog -------------------------------------------------------------------------


def _registrar(p: Principal) -> str:
    if not p.has("registrar") or not p.org:
        raise Forbidden("only a registrar of an institution may do this")
    return p.org


def create_service(uow: UnitOfWork, p: Principal, body: ServiceIn, clock: Clock) -> ServiceOut:
    org = _registrar(require_enabled(p, uow))
    service = {"id": new_id(), "org": org, "active": True, "created_at": iso(clock.now()),
               "version": 1, **body.model_dump(mode="json")}
    store.save_service(uow, service)
    return ServiceOut.model_validate(service)


def patch_service(uow: UnitOfWork, p: Principal, service_id: str, body: ServicePatch
                  ) -> ServiceOut:
    p = require_enabled(p, uow)
    service = store.get_service(uow, service_id)
    if service is None or not (service["active"] or p.org == service["org"]):
        raise NotFound("no such service")
    if _registrar(p) != service["org"]:
        raise Forbidden("only a registrar of the service's institution may change it")
    changes = body.model_dump(mode="json", exclude_unset=True)
    for key in ("name", "unit", "form", "steps", "documents", "active"):
        if key in changes and changes[key] is None:
            raise ValidationFailed.field(key, "may not be null")
    service |= changes
    service["version"] += 1
    store.save_service(uow, service)
    return ServiceOut.model_validate(service)


def list_services(table: Table, limit: int, cursor: str | None) -> ServicePage:
    page = _query(table, store.CATALOG, index="gsi1", limit=limit, cursor=cursor)
    return ServicePage(items=[ServiceOut.model_validate(i) for i in page.items],
                       next_cursor=page.next_cursor)


def read_service(uow: UnitOfWork, service_id: str) -> ServiceOut:
    service = store.get_service(uow, service_id)
    if service is None or not service["active"]:
        raise NotFound("no such service")
    return ServiceOut.model_validate(service)


# --- roster --------------------------------------------------------------------------


def enrol(uow: UnitOfWork, p: Principal, sub: str, body: AttendantIn) -> AttendantOut:
    """Enrol or change an attendant; the other services learn it from the event."""
    org = _registrar(require_enabled(p, uow))
    current = store.get_attendant(uow, org, sub)
    attendant = {"sub": sub, "org": org, **body.model_dump(mode="json")}
    version = store.put_attendant(uow, attendant, current["version"] if current else 0)
    uow.publish(m.RosterChanged(
        attendant=m.Party(sub=sub, name=body.name, email=body.email), org=org,
        unit=body.unit, enabled=body.enabled, version=version))
    return AttendantOut.model_validate(attendant)


def list_attendants(table: Table, p: Principal, unit: str | None, limit: int,
                    cursor: str | None) -> AttendantPage:
    p = require_enabled(p, table)
    if not p.is_staff or not p.org:
        raise Forbidden("only staff of the institution see its roster")
    if unit:
        page = _query(table, store.roster_pk(p.org, unit), index="gsi2", limit=limit,
                      cursor=cursor)
    else:
        page = _query(table, store.roster_pk(p.org), limit=limit, cursor=cursor)
    return AttendantPage(items=[AttendantOut.model_validate(i) for i in page.items],
                         next_cursor=page.next_cursor)


# --- requests: access ----------------------------------------------------------------


def can_see(p: Principal, req: Request) -> bool:
    if req.is_citizen(p.sub):
        return True
    if not p.org or p.org != req.org:
        return False
    if p.has("registrar"):
        return True
    return p.has("attendant") and (
        p.unit == req.unit or req.is_analyst(p.sub) or req.is_assignee(p.sub))


def visible(uow: UnitOfWork, p: Principal, request_id: str) -> Request:
    req = store.get_request(uow, request_id)
    if req is None or not can_see(p, req):
        raise NotFound("no such request")
    return req


def seen(uow: UnitOfWork, p: Principal, request_id: str) -> Request:
    """``visible`` to the caller as the roster lets them act: the roster entry and the
    request read in one request to the store (SQLite: one statement, not two, each of
    which hands the GIL over at every step under the server's threads)."""
    uow.read_ahead([*entry_keys(p), store.request_key(request_id)])
    return visible(uow, require_enabled(p, uow), request_id)


def acting_attendant(uow: UnitOfWork, p: Principal, req: Request) -> Doc:
    """The caller as an enabled attendant of the request's unit, per the roster."""
    entry = store.get_attendant(uow, req.org, p.sub) if p.has("attendant") else None
    if entry is None or not is_enabled(entry, req.unit):
        raise Forbidden("only an enabled attendant of the request's unit may do this")
    return party(p.sub, entry["name"] or p.display_name, entry.get("email") or p.email)


def assignable(uow: UnitOfWork, req: Request, sub: str) -> Doc | None:
    """``sub`` as the request's assignee: None unless an enabled attendant of its unit;
    never its own citizen (403)."""
    if req.is_citizen(sub):
        raise ConflictOfInterest("nobody may be assigned a request they made themselves")
    entry = store.get_attendant(uow, req.org, sub)
    if entry is None or not is_enabled(entry, req.unit):
        return None
    return party(sub, entry["name"], entry.get("email"))


def request_out(req: Request, viewer: Principal | None = None) -> RequestOut:
    """The request as ``viewer`` may see it (None: as the institution's staff)."""
    return RequestOut.model_validate(views.request_doc(req, viewer))


# --- requests: commands --------------------------------------------------------------


def submit(uow: UnitOfWork, p: Principal, body: RequestIn, clock: Clock) -> RequestOut:
    p = require_enabled(p, uow)
    if not p.has("citizen"):
        raise Forbidden("only citizens submit requests")
    service = store.get_service(uow, body.service_id)
    if service is None or not service["active"]:
        raise ValidationFailed.field("service_id", "no such service accepting requests")
    answers = check_answers(service["form"], body.answers)
    req = Request.submit(id=new_id(), service=service, answers=answers, now=clock.now(),
                         citizen=party(p.sub, p.name_as("citizen"), p.email))
    store.save_request(uow, req)
    return request_out(req, p)


def add_document(uow: UnitOfWork, blobs: Blobs, p: Principal, request_id: str,
                 upload: Upload, key: str | None, expected: Expected,
                 clock: Clock) -> DocumentOut:
    p = require_enabled(p, uow)
    req = visible(uow, p, request_id)
    expected.check(req.version)
    doc = {"id": new_id(), "key": key, "filename": upload.filename,
           "content_type": upload.content_type, "size": upload.size, "sha256": upload.sha256}
    req.add_document(party(p.sub, p.name_as("citizen"), p.email), doc, clock.now())
    service = store.get_service(uow, req.service_id) or {}
    if key is not None and key not in {d["key"] for d in service.get("documents", [])}:
        raise ValidationFailed.field("key", "not a document this service asks for")
    doc["blob"] = blobs.put(upload.data, upload.content_type)  # content-addressed: retry-safe
    store.save_request(uow, req)
    return DocumentOut.model_validate(doc)


def start_analysis(uow: UnitOfWork, p: Principal, request_id: str, expected: Expected,
                   clock: Clock) -> RequestOut:
    req, actor = _for_attendant(uow, p, request_id, expected)
    req.start_analysis(actor, clock.now())
    store.save_request(uow, req)
    return request_out(req)


def check_step(uow: UnitOfWork, p: Principal, request_id: str, key: str, ok: bool,
               note: str | None, expected: Expected, clock: Clock) -> RequestOut:
    note = (note or "").strip() or None
    if not ok and note is None:
        raise ValidationFailed.field("note", "required when the step is not ok")
    req, actor = _for_attendant(uow, p, request_id, expected)
    req.check_step(actor, key, ok, note, clock.now())
    store.save_request(uow, req)
    return request_out(req)


def reject(uow: UnitOfWork, p: Principal, request_id: str, justification: str,
           expected: Expected, clock: Clock) -> RequestOut:
    req, actor = _for_attendant(uow, p, request_id, expected)
    req.reject(actor, justification, clock.now())
    store.save_request(uow, req)
    return request_out(req)


def approve(uow: UnitOfWork, p: Principal, request_id: str, assignee_sub: str,
            expected: Expected, clock: Clock) -> RequestOut:
    req, actor = _for_attendant(uow, p, request_id, expected)
    req.approve(actor, assignable(uow, req, assignee_sub), clock.now())
    store.save_request(uow, req)
    return request_out(req)


def reassign(uow: UnitOfWork, p: Principal, request_id: str, assignee_sub: str, reason: str,
             expected: Expected, clock: Clock) -> RequestOut:
    """The registrar of the institution, or the assignee, hands the attendance over: the
    way on when the assignee was disabled (then only the registrar can)."""
    p = require_enabled(p, uow)
    req = visible(uow, p, request_id)
    forbid_own(p, req.citizen["sub"])
    if p.has("registrar") and p.org == req.org:
        actor = party(p.sub, p.display_name, p.email)
    elif p.has("attendant") and req.assignee is not None and req.is_assignee(p.sub):
        actor = dict(req.assignee)
    else:
        raise Forbidden("only a registrar of the institution or the request's assignee "
                        "hands it over")
    expected.check(req.version)
    req.reassign(actor, assignable(uow, req, assignee_sub), reason, clock.now())
    store.save_request(uow, req)
    return request_out(req)


def conclude(uow: UnitOfWork, blobs: Blobs, p: Principal, request_id: str, summary: str,
             upload: Upload | None, expected: Expected, clock: Clock) -> RequestOut:
    req, actor = _for_attendant(uow, p, request_id, expected)
    attachment = None
    if upload is not None:
        attachment = {"id": new_id(), "key": None, "filename": upload.filename,
                      "content_type": upload.content_type, "size": upload.size,
                      "sha256": upload.sha256}
    req.conclude(actor, summary, attachment, clock.now())
    if attachment is not None and upload is not None:
        attachment["blob"] = blobs.put(upload.data, upload.content_type)
    store.save_request(uow, req)
    return request_out(req)


def _for_attendant(uow: UnitOfWork, p: Principal, request_id: str, expected: Expected
                   ) -> tuple[Request, Doc]:
    """The request and the caller as its handler: an enabled attendant of its unit, and
    not its citizen."""
    p = require_enabled(p, uow)
    req = visible(uow, p, request_id)
    forbid_own(p, req.citizen["sub"])
    actor = acting_attendant(uow, p, req)
    expected.check(req.version)
    return req, actor


# --- requests: queries ---------------------------------------------------------------


def read_request_body(uow: UnitOfWork, p: Principal, request_id: str) -> Doc:
    """The request as its reader may see it, as RequestOut's JSON document
    (``views.request_body``): what the detail answers."""
    return views.request_body(seen(uow, p, request_id), p)


def read_request(uow: UnitOfWork, p: Principal, request_id: str) -> RequestOut:
    """``read_request_body`` as its model."""
    return RequestOut.model_validate(read_request_body(uow, p, request_id))


def document_of(uow: UnitOfWork, p: Principal, request_id: str, doc_id: str) -> Doc:
    """A document or the conclusion's attachment, if the caller may see the request."""
    req = seen(uow, p, request_id)
    files = list(req.documents)
    if req.conclusion and req.conclusion.get("attachment"):
        files.append(req.conclusion["attachment"])
    doc = next((d for d in files if d["id"] == doc_id), None)
    if doc is None:
        raise NotFound("no such document")
    return doc


@dataclass(frozen=True)
class PanelFilters:
    statuses: tuple[str, ...] = ()
    assignee: str | None = None
    service_id: str | None = None
    overdue: bool = False


def panel(table: Table, p: Principal, f: PanelFilters, limit: int, cursor: str | None,
          now: datetime) -> JsonPage:
    """The caller's scope is one index partition; filters narrow it within the range. The
    items are the panel rows' stored views (PanelItem), as JSON. The roster entry that
    lets an attendant see their unit's is read with the page, in one request to the store;
    where the roster takes their attendant role away, the page of what is left is read."""
    def page_of(who: Principal, along: list[tuple[str, str]]) -> tuple[str, JsonPage]:
        index, pk, where = _panel_scope(who, f, now)
        return index, _query(table, pk, attribute="view", index=index, limit=limit,
                             cursor=cursor, forward=False, where=where, along=along)

    keys = entry_keys(p)
    index, page = page_of(p, keys)
    acting = require_enabled(p, ReadItems(keys, page.along))
    if acting is not p:
        index, page = page_of(acting, [])
    return views.citizen_panel(page, p.sub) if index == "gsi1" else page


def _panel_scope(p: Principal, f: PanelFilters, now: datetime
                 ) -> tuple[str, str, list[Where]]:
    """The index, partition and filters of ``p``'s panel under ``f``."""
    assignee = p.sub if f.assignee == "me" else f.assignee
    where: list[Where] = []
    if p.has("registrar") and p.org:
        index, pk = "gsi3", f"ORG#{p.org}"
    elif p.has("attendant") and p.org and p.unit:
        index, pk = "gsi2", f"UNIT#{p.org}#{p.unit}"
    elif p.has("citizen"):
        index, pk = "gsi1", f"CIT#{p.sub}"
    else:
        raise Forbidden("no panel for this caller")
    if assignee and index != "gsi1":
        if index == "gsi2":
            where.append(Where("unit", "=", p.unit))
        index, pk = "gsi4", f"ASG#{p.org}#{assignee}"
    elif assignee:
        where.append(Where("assignee_sub", "=", assignee))
    if f.statuses:
        where.append(Where("status", "in", list(f.statuses)))
    if f.service_id:
        where.append(Where("service_id", "=", f.service_id))
    if f.overdue:
        where += [Where("due_at", "<", iso(now)), Where("status", "in", list(OPEN))]
    return index, pk, where


def timeline_body(uow: UnitOfWork, table: Table, p: Principal, request_id: str,
                  limit: int, cursor: str | None) -> Doc:
    """A page of the request's timeline, as TimelinePage's JSON document
    (``views.timeline_body``)."""
    req = seen(uow, p, request_id)
    page = _query(table, f"REQ#{request_id}", prefix="TL#", limit=limit, cursor=cursor)
    return _timeline_page(req, p, page.items, page.next_cursor)


def request_and_timeline(table: Table, p: Principal, request_id: str, limit: int
                         ) -> tuple[Doc, Doc, list[Doc]]:
    """``read_request_body`` and ``timeline_body``'s first page, as those two answer them,
    and the form the request was made with, from one read of the request's partition and
    the caller's roster entry: a page that shows them all (the console's detail)."""
    keys = entry_keys(p)
    req, entries, cursor, found = store.request_and_timeline(table, request_id, limit, keys)
    p = require_enabled(p, ReadItems(keys, found))
    if req is None or not can_see(p, req):
        raise NotFound("no such request")
    return views.request_body(req, p), _timeline_page(req, p, entries, cursor), req.form


def _timeline_page(req: Request, p: Principal, entries: list[Doc], cursor: str | None) -> Doc:
    return {"items": [views.timeline_body(i, req, p) for i in entries], "next_cursor": cursor}


def timeline(uow: UnitOfWork, table: Table, p: Principal, request_id: str, limit: int,
             cursor: str | None) -> TimelinePage:
    """``timeline_body`` as its model."""
    return TimelinePage.model_validate(timeline_body(uow, table, p, request_id, limit, cursor))


def _query(table: Table, pk: str, *, attribute: str | None = None, **kw: Any) -> Any:
    """A page of ``table`` (with ``attribute``, that attribute of each item as JSON)."""
    try:
        if attribute is not None:
            return table.query_json(pk, attribute=attribute, **kw)
        return table.query(pk, **kw)
    except ValueError as exc:
        raise ValidationFailed.field("cursor", "invalid cursor") from exc
