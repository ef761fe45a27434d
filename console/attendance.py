"""The attendant's way to the services: the handlers of requests, followups, meetings and
reviews, called in process with the person's Principal (as ``console/services.py`` does for
the panel), so the same rules, validation and events apply as on the JSON API.

Commands run in the service's unit of work and commit as ``shared.http.run_command`` does.
A command on a service that learns of the request from events (followups, meetings) may
arrive before that service has seen the approval that made it possible; it is run as
``shared.freshness.run_fresh`` runs it: retried, within the same bound, while a newer view
(or the service's copy of the roster) could lift the refusal.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from functools import partial
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import BaseModel, ValidationError

from console.lazy import followups_h, meetings_h, meetings_in, reviews_h, reviews_in, reviews_views
from services.requests import handlers as requests_h
from services.requests.schemas import ApprovalIn, ConclusionIn, RejectionIn
from shared.context import ServiceContext
from shared.errors import AttendantNotEnabled, Conflict, DomainError, ValidationFailed
from shared.files import PDF, FilePart, Upload, accept
from shared.freshness import may_catch_up, view_state, wait_until
from shared.http import validation_errors
from shared.identity import Principal
from shared.outbox import UnitOfWork
from shared.preconditions import ANY
from shared.tables import ConditionFailed, Table

if TYPE_CHECKING:
    from console.services import Reads

T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)


def parsed(model: type[M], data: dict[str, Any]) -> M:
    """A body checked by the service's own schema; its errors as the API's 422."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ValidationFailed("invalid body", validation_errors(exc)) from exc


def _moved(ctx: ServiceContext, pk: str, seen: tuple[int, str] | None) -> bool:
    """Whether the service's view of the request changed from ``seen``."""
    return view_state(ctx.table, pk) != seen


class Attendance:
    """``reads``: the page's reads (``console.services.Reads``), which the queries share;
    without it each query reads its service's table itself."""

    def __init__(self, contexts: dict[str, ServiceContext], reads: Reads | None = None
                 ) -> None:
        self.contexts = contexts
        self.reads = reads

    def ctx(self, name: str) -> ServiceContext:
        return self.contexts[name]

    def _table(self, name: str) -> Table:
        """The table a query reads."""
        return self.reads.table(name) if self.reads else self.ctx(name).table

    def _reading(self, name: str) -> UnitOfWork:
        """A unit of work for a query's handler; never committed."""
        return self.reads.uow(name) if self.reads else self.ctx(name).uow()

    # --- running commands ------------------------------------------------------------

    def run(self, name: str, command: Callable[[UnitOfWork], T], attempts: int = 3) -> T:
        ctx = self.ctx(name)
        for attempt in range(attempts):
            with ctx.uow() as uow:
                result = command(uow)
                try:
                    uow.commit()
                    return result
                except ConditionFailed:
                    if attempt == attempts - 1:
                        raise Conflict("the resource changed concurrently; try again") from None
        raise AssertionError("unreachable")

    def fresh(self, name: str, request_id: str, command: Callable[[UnitOfWork], T]) -> T:
        ctx = self.ctx(name)
        pk = f"REQ#{request_id}"
        deadline = time.monotonic() + ctx.settings.view_wait_seconds
        while True:
            seen = view_state(ctx.table, pk)
            try:
                return self.run(name, command)
            except AttendantNotEnabled:
                # The roster reaches the service as events too: an attendant enrolled a
                # moment ago may not be in its copy yet; nothing in the view says when.
                if time.monotonic() >= deadline:
                    raise
                time.sleep(0.05)
            except DomainError as exc:
                if not may_catch_up(exc, seen):
                    raise
                if not wait_until(partial(_moved, ctx, pk, seen), deadline):
                    raise

    # --- requests --------------------------------------------------------------------

    def request(self, p: Principal, request_id: str
                ) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        """The request (with the form it was made with, whatever its service's is now) and
        its timeline's first 100 entries."""
        with self._reading("requests") as uow:
            doc, timeline, form = requests_h.request_and_timeline(uow.table, p, request_id,
                                                                  100)
        doc["form"] = form
        items: list[dict[str, Any]] = timeline["items"]
        return doc, items

    def attendants(self, p: Principal, unit: str) -> list[dict[str, Any]]:
        page = requests_h.list_attendants(self._table("requests"), p, unit, 100, None)
        return [a.model_dump(mode="json") for a in page.items if a.enabled]

    def document(self, p: Principal, request_id: str, doc_id: str) -> tuple[bytes, str, str]:
        ctx = self.ctx("requests")
        with ctx.uow() as uow:
            doc = requests_h.document_of(uow, p, request_id, doc_id)
        return ctx.blobs.get(doc["blob"]), doc["content_type"], doc["filename"]

    def start_analysis(self, p: Principal, request_id: str) -> None:
        clock = self.ctx("requests").clock
        self.run("requests", lambda uow: requests_h.start_analysis(
            uow, p, request_id, ANY, clock))

    def check_step(self, p: Principal, request_id: str, key: str, ok: bool,
                   note: str) -> None:
        clock = self.ctx("requests").clock
        self.run("requests", lambda uow: requests_h.check_step(
            uow, p, request_id, key, ok, note, ANY, clock))

    def approve(self, p: Principal, request_id: str, assignee: str) -> None:
        body = parsed(ApprovalIn, {"assignee": assignee})
        clock = self.ctx("requests").clock
        self.run("requests", lambda uow: requests_h.approve(
            uow, p, request_id, body.assignee, ANY, clock))

    def reject(self, p: Principal, request_id: str, justification: str) -> None:
        body = parsed(RejectionIn, {"justification": justification})
        clock = self.ctx("requests").clock
        self.run("requests", lambda uow: requests_h.reject(
            uow, p, request_id, body.justification, ANY, clock))

    def conclude(self, p: Principal, request_id: str, summary: str,
                 file: FilePart | None) -> None:
        ctx = self.ctx("requests")
        body = parsed(ConclusionIn, {"summary": summary})
        upload: Upload | None = None
        if file is not None:
            upload = accept(file.filename, file.data, allowed=frozenset({PDF}),
                            max_bytes=ctx.settings.max_file_bytes)
        self.run("requests", lambda uow: requests_h.conclude(
            uow, ctx.blobs, p, request_id, body.summary, upload, ANY, ctx.clock))

    # --- followups -------------------------------------------------------------------

    def followups(self, p: Principal, request_id: str) -> list[dict[str, Any]]:
        table = self._table("followups")
        items: list[dict[str, Any]] = []
        cursor = None
        while True:
            page = followups_h.list_followups(table, p, request_id, 100, cursor)
            items += [f.model_dump(mode="json") for f in page.items]
            cursor = page.next_cursor
            if cursor is None:
                return items

    def post_followup(self, p: Principal, request_id: str, body: str,
                      files: Sequence[FilePart]) -> None:
        ctx = self.ctx("followups")
        self.fresh("followups", request_id, lambda uow: followups_h.post_followup(
            uow, ctx.blobs, ctx.settings, p, request_id, body, files, ctx.clock))

    def attachment(self, p: Principal, request_id: str, followup_id: str,
                   attachment_id: str) -> tuple[bytes, str, str]:
        ctx = self.ctx("followups")
        return followups_h.read_attachment(ctx.table, ctx.blobs, p, request_id,
                                           followup_id, attachment_id)

    # --- meetings --------------------------------------------------------------------

    def meetings(self, p: Principal, request_id: str) -> list[dict[str, Any]]:
        page = meetings_h.list_meetings(self._table("meetings"), p, request_id, 100, None)
        return [mt.model_dump(mode="json") for mt in page.items]

    def schedule(self, p: Principal, request_id: str, data: dict[str, Any]) -> None:
        ctx = self.ctx("meetings")
        body = parsed(meetings_in.MeetingIn, data)
        self.fresh("meetings", request_id, lambda uow: meetings_h.schedule(
            uow, ctx.deps.rooms, ctx.settings, p, request_id, body, ctx.clock))

    def reschedule(self, p: Principal, request_id: str, meeting_id: str,
                   data: dict[str, Any]) -> None:
        ctx = self.ctx("meetings")
        body = parsed(meetings_in.MeetingPatch, data)
        self.run("meetings", lambda uow: meetings_h.change(
            uow, ctx.settings, p, request_id, meeting_id, body, ctx.clock))

    def cancel(self, p: Principal, request_id: str, meeting_id: str) -> None:
        clock = self.ctx("meetings").clock
        self.run("meetings", lambda uow: meetings_h.cancel(
            uow, p, request_id, meeting_id, None, clock))

    def invite(self, p: Principal, request_id: str, meeting_id: str, name: str,
               email: str) -> None:
        ctx = self.ctx("meetings")
        body = parsed(meetings_in.GuestIn, {"name": name, "email": email})
        self.run("meetings", lambda uow: meetings_h.invite(
            uow, ctx.deps.invites, p, request_id, meeting_id, body, ctx.clock))

    def join(self, p: Principal, request_id: str, meeting_id: str, name: str) -> str:
        ctx = self.ctx("meetings")
        body = parsed(meetings_in.JoinIn, {"display_name": name})
        out = self.run("meetings", lambda uow: meetings_h.join(
            uow, ctx.deps.rooms, p, request_id, meeting_id, body.display_name, ctx.clock))
        return out.url

    # --- reviews ---------------------------------------------------------------------

    def review_queue(self, p: Principal, state: str) -> list[dict[str, Any]]:
        page = reviews_views.moderation_queue(self.ctx("reviews").table, p, state, None,
                                              100, None)
        return [r.model_dump(mode="json") for r in page.items]

    def moderate(self, p: Principal, review_id: str, decision: str) -> None:
        body = parsed(reviews_in.ModerationIn, {"decision": decision})
        clock = self.ctx("reviews").clock
        self.run("reviews", lambda uow: reviews_h.moderate_review(
            uow, p, review_id, body, clock))
