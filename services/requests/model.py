"""The request aggregate: its state machine and the events each transition raises.

Pure: no storage, no HTTP. Transitions check state first (409) and then who is acting
(403), so a caller learns "not now" before "not you" only when it could ever be them.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import datetime, timedelta
from typing import Any

from shared import messages as m
from shared.clock import iso
from shared.errors import Forbidden, InvalidTransition, NotFound, ValidationFailed
from shared.identity import shown_name

Doc = dict[str, Any]
OPEN = ("submitted", "in_analysis", "in_service")


def party(sub: str, name: str, email: str | None = None) -> Doc:
    return {"sub": sub, "name": name, "email": email}


def person(p: Doc | None, *, citizen: bool = False) -> Doc | None:
    """A party as stored for showing: no e-mail, and a name (or the role's label), never
    the sub in its place."""
    if p is None:
        return None
    return {"sub": p["sub"], "name": shown_name(p.get("name"), p["sub"], citizen=citizen)}


@dataclass
class Request:
    id: str
    service_id: str
    service_name: str
    org: str
    unit: str
    citizen: Doc
    answers: Doc
    form: list[Doc]
    steps: list[Doc]
    created_at: str
    updated_at: str
    last_activity_at: str
    due_at: str | None = None
    status: str = "submitted"
    documents: list[Doc] = field(default_factory=list)
    analyst: Doc | None = None
    assignee: Doc | None = None
    rejection: Doc | None = None
    conclusion: Doc | None = None
    citizen_verdict: str | None = None
    verdict_at: str | None = None
    version: int = 1
    # Raised by the last transitions, not persisted with the aggregate.
    events: list[m.Event] = field(default_factory=list, repr=False, compare=False)
    entries: list[Doc] = field(default_factory=list, repr=False, compare=False)

    @classmethod
    def submit(cls, *, id: str, service: Doc, citizen: Doc, answers: Doc,
               now: datetime) -> Request:
        days = service.get("deadline_days")
        req = cls(
            id=id, service_id=service["id"], service_name=service["name"],
            org=service["org"], unit=service["unit"], citizen=citizen, answers=answers,
            form=service["form"],
            steps=[{"key": s["key"], "label": s["label"], "ok": None, "note": None,
                    "checked_by": None, "checked_at": None} for s in service["steps"]],
            created_at=iso(now), updated_at=iso(now), last_activity_at=iso(now),
            due_at=iso(now + timedelta(days=days)) if days else None,
        )
        req._record(m.RequestSubmitted, citizen, now, {"service_id": req.service_id})
        return req

    @classmethod
    def from_doc(cls, doc: Doc) -> Request:
        if doc.keys() == _NAMES:  # as saved; older items may carry more
            return cls(**doc)
        return cls(**{k: v for k, v in doc.items() if k in _NAMES})

    def to_doc(self) -> Doc:
        # A copy of the JSON tree, not dataclasses.asdict: that deep-copies every string
        # too, and was a third of the time a worker took to apply an event.
        return {f.name: _copied(getattr(self, f.name)) for f in _FIELDS}

    def fields_view(self) -> Doc:
        """The persisted fields without copying them, for reading (a response) only."""
        view = dict(self.__dict__)
        del view["events"], view["entries"]
        return view

    # --- who is who -------------------------------------------------------------------

    def is_citizen(self, sub: str) -> bool:
        return self.citizen["sub"] == sub

    def is_analyst(self, sub: str) -> bool:
        return self.analyst is not None and self.analyst["sub"] == sub

    def is_assignee(self, sub: str) -> bool:
        return self.assignee is not None and self.assignee["sub"] == sub

    def snapshot(self) -> m.RequestSnapshot:
        def to_party(p: Doc | None) -> m.Party | None:
            return None if p is None else m.Party(**p)

        return m.RequestSnapshot(
            version=self.version, status=self.status,
            service_id=self.service_id, service_name=self.service_name, org=self.org,
            unit=self.unit, citizen=m.Party(**self.citizen),
            analyst=to_party(self.analyst), assignee=to_party(self.assignee))

    # --- transitions ------------------------------------------------------------------

    def may_add_document(self, sub: str) -> None:
        self._require("submitted")
        if not self.is_citizen(sub):
            raise Forbidden("only the citizen who made the request adds documents")

    def add_document(self, actor: Doc, document: Doc, now: datetime) -> None:
        self.may_add_document(actor["sub"])
        self.documents.append(document)
        self._touch(now)
        self._entry("DocumentAdded", actor, now, {
            "document_id": document["id"], "key": document["key"],
            "filename": document["filename"]})

    def start_analysis(self, actor: Doc, now: datetime) -> None:
        self._require("submitted")
        self.status, self.analyst = "in_analysis", actor
        self._record(m.AnalysisStarted, actor, now)

    def check_step(self, actor: Doc, key: str, ok: bool, note: str | None,
                   now: datetime) -> None:
        step = next((s for s in self.steps if s["key"] == key), None)
        if step is None:
            raise NotFound(f"no step {key!r} in this request")
        self._require("in_analysis", "in_service")
        in_charge = self.analyst if self.status == "in_analysis" else self.assignee
        if in_charge is None or in_charge["sub"] != actor["sub"]:
            raise Forbidden("only the analyst (in analysis) or the assignee checks steps")
        step.update(ok=ok, note=note, checked_by=person(actor), checked_at=iso(now))
        self._record(m.StepChecked, actor, now, {"step_key": key, "ok": ok},
                     step_key=key, ok=ok)

    def reject(self, actor: Doc, justification: str, now: datetime) -> None:
        self._require("in_analysis")
        self._only_analyst(actor)
        self.status = "rejected"
        self.rejection = {"justification": justification, "by": person(actor), "at": iso(now)}
        self._record(m.RequestRejected, actor, now, {"justification": justification},
                     justification=justification)

    def approve(self, actor: Doc, assignee: Doc | None, now: datetime) -> None:
        """``assignee`` is None when the chosen sub is not an enabled attendant of the unit."""
        self._require("in_analysis")
        self._only_analyst(actor)
        if assignee is None:
            raise ValidationFailed.field("assignee", "must be an enabled attendant of the unit")
        self.status, self.assignee = "in_service", assignee
        self._record(m.RequestApproved, actor, now, {"assignee": person(assignee)})

    def reassign(self, actor: Doc, assignee: Doc | None, reason: str, now: datetime) -> None:
        """Hand the attendance to another attendant. ``assignee`` is None when the chosen
        sub is not an enabled attendant of the unit; who may do this is the caller's to
        check (the registrar or the current assignee)."""
        self._require("in_service")
        if assignee is None:
            raise ValidationFailed.field("assignee", "must be an enabled attendant of the unit")
        if self.is_assignee(assignee["sub"]):
            raise ValidationFailed.field("assignee", "is already the request's assignee")
        previous, self.assignee = self.assignee, assignee
        self._record(m.RequestReassigned, actor, now,
                     {"assignee": person(assignee), "previous": person(previous),
                      "reason": reason},
                     previous=m.Party(**previous) if previous else None, reason=reason)

    def conclude(self, actor: Doc, summary: str, attachment: Doc | None,
                 now: datetime) -> None:
        self._require("in_service")
        if not self.is_assignee(actor["sub"]):
            raise Forbidden("only the assignee concludes the request")
        self.status = "concluded"
        self.conclusion = {"summary": summary, "attachment": attachment,
                           "by": person(actor), "at": iso(now)}
        self._record(m.RequestConcluded, actor, now,
                     {"summary": summary, "has_attachment": attachment is not None},
                     summary=summary, has_attachment=attachment is not None)

    # --- what other contexts tell us --------------------------------------------------

    def note_activity(self, entry: Doc, at: datetime) -> None:
        """An event from another service: a timeline entry and, if newer, the last
        activity. Order of arrival does not matter: the latest time wins. Nothing the
        panel row shows changes (``store.save_activity`` leaves that row as it is)."""
        self.entries.append(entry)
        self.last_activity_at = max(self.last_activity_at, iso(at))
        self.version += 1

    def set_verdict(self, verdict: str, at: datetime) -> None:
        if self.verdict_at is None or iso(at) >= self.verdict_at:
            self.citizen_verdict, self.verdict_at = verdict, iso(at)
            self.updated_at = max(self.updated_at, iso(at))

    # --- internals --------------------------------------------------------------------

    def _require(self, *states: str) -> None:
        if self.status not in states:
            raise InvalidTransition(
                f"not allowed while the request is {self.status} (needs {' or '.join(states)})")

    def _only_analyst(self, actor: Doc) -> None:
        if not self.is_analyst(actor["sub"]):
            raise Forbidden("only the analyst of this request decides it")

    def _touch(self, now: datetime) -> None:
        self.version += 1
        self.updated_at = self.last_activity_at = iso(now)

    def _entry(self, kind: str, actor: Doc | None, now: datetime, data: Doc,
               event_id: str | None = None) -> None:
        by_citizen = actor is not None and self.is_citizen(actor["sub"])
        self.entries.append({"at": iso(now), "type": kind,
                             "actor": person(actor, citizen=by_citizen),
                             "data": data, "event_id": event_id})

    def _record(self, kind: type[m.RequestEvent], actor: Doc, now: datetime,
                data: Doc | None = None, **extra: Any) -> None:
        if kind is not m.RequestSubmitted:
            self._touch(now)
        event = kind(request_id=self.id, occurred_at=now, request=self.snapshot(),
                     actor=m.Party(**actor), **extra)
        self.events.append(event)
        self._entry(event.type, actor, now, data or {}, event.id)


_FIELDS = tuple(f for f in fields(Request) if f.name not in ("events", "entries"))
_NAMES = frozenset(f.name for f in _FIELDS)


def _copied(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _copied(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copied(v) for v in value]
    return value
