"""The console's way to the services: their own handlers, called in process with the
person's Principal, the same functions their JSON resources call. Authorization,
validation and events all happen there; nothing here decides what a person may do.

Screens call methods of ``Services``; a screen that needs a new query or command adds a
method here that calls the service's handler (in a unit of work for commands, as
``shared.http.run_command`` does).
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, TypeVar

import orjson
from pydantic import BaseModel, ValidationError

from console.lazy import followups_h, meetings_h, meetings_in, reviews_h, reviews_in, reviews_views
from services.requests import handlers as requests_h
from services.requests import store as requests_store
from services.requests.schemas import AttendantIn, RequestIn, ServiceIn, ServicePatch
from shared.context import ServiceContext
from shared.errors import NotFound, ValidationFailed
from shared.files import DOCUMENT_TYPES, FilePart, accept
from shared.http import validation_errors
from shared.identity import Principal
from shared.outbox import UnitOfWork
from shared.preconditions import ANY
from shared.tables import Table
from shared.tables.remembered import Remembered, snapshot

M = TypeVar("M", bound=BaseModel)

PanelFilters = requests_h.PanelFilters


class Reads:
    """The services' tables as one request of the console reads them: each item once
    (``shared/tables/remembered.py``). A page asks several handlers of a service about the
    same request, and each checks the same roster entry and the same request first; every
    check still runs, on what this request read. For queries only: commands use their
    service's own unit of work."""

    def __init__(self, contexts: dict[str, ServiceContext]) -> None:
        self.contexts = contexts
        self.tables: dict[str, Remembered] = {}

    def table(self, service: str) -> Table:
        found = self.tables.get(service)
        if found is None:
            found = self.tables[service] = Remembered(self.contexts[service].table)
        return found

    def snapshot(self) -> AbstractContextManager[None]:
        """The page's reads from one snapshot of the store (``shared.tables.remembered``):
        what it shows is one moment's, and on SQLite its reads cost less together."""
        return snapshot(ctx.table for ctx in self.contexts.values())

    def uow(self, service: str) -> UnitOfWork:
        """For a query whose handler takes a unit of work; never committed."""
        ctx = self.contexts[service]
        return UnitOfWork(self.table(service), None, ctx.clock, ctx.topology)


@dataclass
class Page:
    items: list[dict[str, Any]]
    next_cursor: str | None


# --- the citizen's, the registrar's and the guest's ------------------------------------
# Each method calls the service's own handler; commands run in that service's unit of
# work and commit there, as the JSON resources' run_command does.

def _json(model: Any) -> Any:
    return model.model_dump(mode="json")


def _parse(model: type[M], body: dict[str, Any]) -> M:
    """``body`` read by the service's own schema; its refusal as the API's 422."""
    try:
        return model.model_validate(body)
    except ValidationError as exc:
        raise ValidationFailed("invalid input", validation_errors(exc)) from exc


class PeopleServices:
    """The calls behind the citizen's, registrar's and guest's screens."""

    def __init__(self, contexts: dict[str, ServiceContext]) -> None:
        self.contexts = contexts

    def _command(self, service: str, command: Any) -> Any:
        ctx = self.contexts[service]
        with ctx.uow() as uow:
            result = command(uow)
            uow.commit()
        return _json(result) if hasattr(result, "model_dump") else result

    # catalog and reviews

    def service(self, service_id: str) -> dict[str, Any]:
        with self.contexts["requests"].uow() as uow:
            return _json(requests_h.read_service(uow, service_id))

    def org_services(self, p: Principal) -> list[dict[str, Any]]:
        """The registrar's institution's services in the catalog."""
        table = self.contexts["requests"].table
        items: list[dict[str, Any]] = []
        cursor: str | None = None
        while True:
            page = requests_h.list_services(table, 100, cursor)
            items += [_json(s) for s in page.items if s.org == p.org]
            cursor = page.next_cursor
            if cursor is None:
                return items

    def org_service(self, p: Principal, service_id: str) -> dict[str, Any]:
        with self.contexts["requests"].uow() as uow:
            found = requests_store.get_service(uow, service_id)
        if found is None or found["org"] != p.org or not p.has("registrar"):
            raise NotFound("no such service")
        return found

    def published_reviews(self, service_id: str) -> dict[str, Any]:
        return _json(reviews_views.published(self.contexts["reviews"].table, service_id,
                                             20, None))

    def create_service(self, p: Principal, body: dict[str, Any]) -> dict[str, Any]:
        ctx = self.contexts["requests"]
        parsed = _parse(ServiceIn, body)
        return self._command("requests", lambda uow: requests_h.create_service(
            uow, p, parsed, ctx.clock))

    def patch_service(self, p: Principal, service_id: str, body: dict[str, Any]
                      ) -> dict[str, Any]:
        parsed = _parse(ServicePatch, body)
        return self._command("requests", lambda uow: requests_h.patch_service(
            uow, p, service_id, parsed))

    # roster

    def attendants(self, p: Principal) -> list[dict[str, Any]]:
        page = requests_h.list_attendants(self.contexts["requests"].table, p, None, 100, None)
        return [_json(a) for a in page.items]

    def enrol(self, p: Principal, sub: str, body: dict[str, Any]) -> dict[str, Any]:
        parsed = _parse(AttendantIn, body)
        return self._command("requests", lambda uow: requests_h.enrol(uow, p, sub, parsed))

    # requests

    def submit(self, p: Principal, service_id: str, answers: dict[str, Any]) -> dict[str, Any]:
        ctx = self.contexts["requests"]
        body = _parse(RequestIn, {"service_id": service_id, "answers": answers})
        return self._command("requests", lambda uow: requests_h.submit(uow, p, body,
                                                                       ctx.clock))

    def add_document(self, p: Principal, request_id: str, key: str, part: FilePart
                     ) -> dict[str, Any]:
        ctx = self.contexts["requests"]
        upload = accept(part.filename, part.data, allowed=DOCUMENT_TYPES,
                        max_bytes=ctx.settings.max_file_bytes)
        return self._command("requests", lambda uow: requests_h.add_document(
            uow, ctx.blobs, p, request_id, upload, key, ANY, ctx.clock))

    def my_requests(self, p: Principal) -> list[dict[str, Any]]:
        ctx = self.contexts["requests"]
        page = requests_h.panel(ctx.table, p, PanelFilters(), 100, None, ctx.clock.now())
        items: list[dict[str, Any]] = orjson.loads(page.items)
        return items

    def request_and_timeline(self, p: Principal, request_id: str
                             ) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        """The request, with the form it was made with, and its timeline's first 100
        entries, in one read."""
        doc, timeline, form = requests_h.request_and_timeline(
            self.contexts["requests"].table, p, request_id, 100)
        items: list[dict[str, Any]] = timeline["items"]
        return {**doc, "form": form}, items

    def document(self, p: Principal, request_id: str, doc_id: str) -> tuple[bytes, str, str]:
        ctx = self.contexts["requests"]
        with ctx.uow() as uow:
            doc = requests_h.document_of(uow, p, request_id, doc_id)
        return ctx.blobs.get(doc["blob"]), doc["content_type"], doc["filename"]

    # follow-ups, notifications

    def followups(self, p: Principal, request_id: str) -> list[dict[str, Any]]:
        ctx = self.contexts["followups"]
        try:
            page = followups_h.list_followups(ctx.table, p, request_id, 100, None)
        except NotFound:
            return []  # the follow-ups service has not heard of the request yet
        return [_json(f) for f in page.items]

    def post_followup(self, p: Principal, request_id: str, body: str,
                      files: list[FilePart]) -> dict[str, Any]:
        ctx = self.contexts["followups"]
        return self._command("followups", lambda uow: followups_h.post_followup(
            uow, ctx.blobs, ctx.settings, p, request_id, body, files, ctx.clock))

    def attachment(self, p: Principal, request_id: str, followup_id: str,
                   attachment_id: str) -> tuple[bytes, str, str]:
        ctx = self.contexts["followups"]
        return followups_h.read_attachment(ctx.table, ctx.blobs, p, request_id, followup_id,
                                           attachment_id)

    def notifications(self, p: Principal) -> list[dict[str, Any]]:
        page = followups_h.list_notifications(self.contexts["followups"].table, p, 100, None)
        items = [_json(n) for n in page.items]
        return sorted(items, key=lambda n: n["read"])  # unread first, each newest first

    def mark_read(self, p: Principal, note_id: str) -> dict[str, Any]:
        return self._command("followups", lambda uow: followups_h.mark_read(uow, p, note_id))

    # meetings

    def meetings(self, p: Principal, request_id: str) -> list[dict[str, Any]]:
        try:
            page = meetings_h.list_meetings(self.contexts["meetings"].table, p, request_id,
                                            100, None)
        except NotFound:
            return []
        return [_json(mt) for mt in page.items]

    def join(self, p: Principal, request_id: str, meeting_id: str, name: str
             ) -> dict[str, Any]:
        ctx = self.contexts["meetings"]
        body = _parse(meetings_in.JoinIn, {"display_name": name})
        return self._command("meetings", lambda uow: meetings_h.join(
            uow, ctx.deps.rooms, p, request_id, meeting_id, body.display_name, ctx.clock))

    def guest_join(self, token: str, name: str) -> dict[str, Any]:
        ctx = self.contexts["meetings"]
        body = _parse(meetings_in.GuestJoinIn, {"invite_token": token, "display_name": name})
        return self._command("meetings", lambda uow: meetings_h.guest_join(
            uow, ctx.deps.rooms, ctx.deps.invites, body.invite_token, body.display_name, ctx.clock))

    def guest_may_join(self, token: str) -> None:
        """Whether the invitation lets its guest in now: the join itself, tried in a unit
        of work that is never committed (nothing recorded, nobody told)."""
        ctx = self.contexts["meetings"]
        with ctx.uow() as uow:
            meetings_h.guest_join(uow, ctx.deps.rooms, ctx.deps.invites, token, "convidado",
                                  ctx.clock)

    # reviews

    def review(self, p: Principal, request_id: str, body: dict[str, Any]) -> dict[str, Any]:
        ctx = self.contexts["reviews"]
        parsed = _parse(reviews_in.ReviewIn, body)
        return self._command("reviews", lambda uow: reviews_h.submit_review(
            uow, p, request_id, parsed, ctx.clock))


class Services(PeopleServices):
    def __init__(self, contexts: dict[str, ServiceContext]) -> None:
        self.contexts = contexts

    @property
    def requests(self) -> ServiceContext:
        return self.contexts["requests"]

    def attendant_enabled(self, p: Principal, reads: Reads) -> bool:
        """Whether the roster lists this attendant as enabled (read as ``reads`` read it)."""
        if not p.org:
            return False
        with reads.uow("requests") as uow:
            entry = requests_store.get_attendant(uow, p.org, p.sub)
        return bool(entry and entry["enabled"])

    def catalog(self, limit: int = 50, cursor: str | None = None) -> Page:
        page = requests_h.list_services(self.requests.table, limit, cursor)
        return Page([s.model_dump(mode="json") for s in page.items], page.next_cursor)

    def panel(self, p: Principal, filters: PanelFilters, limit: int = 20,
              cursor: str | None = None) -> Page:
        ctx = self.requests
        page = requests_h.panel(ctx.table, p, filters, limit, cursor, ctx.clock.now())
        return Page(orjson.loads(page.items), page.next_cursor)
