"""What a reader is shown of a request, its timeline and the panel: every party as
``shared.parties`` says (staff of the institution see subs; a citizen sees staff by name
and role only; nobody is shown by their sub)."""

from __future__ import annotations

from typing import Any

import orjson

from services.requests.model import Doc, Request
from shared.identity import Principal, shown_name
from shared.parties import reads_as_staff, shown, shown_within
from shared.tables import JsonPage

# Timeline entries whose data says which side their actor spoke for.
_ACTOR_ROLE_KEY = {"FollowupPosted": "author_role", "MeetingJoined": "role"}


def to_citizen(req: Request, viewer: Principal | None) -> bool:
    """A reader who is not staff of the request's institution reads it as a citizen."""
    return viewer is not None and not reads_as_staff(viewer, req.org)


def request_doc(req: Request, viewer: Principal | None) -> Doc:
    """The request's fields with its parties as ``viewer`` may see them (None: staff)."""
    doc = req.fields_view()  # not copied: every changed field is replaced, not mutated
    citizen_sub, hide = req.citizen["sub"], to_citizen(req, viewer)

    def show(party: Doc | None) -> Doc | None:
        return shown(party, citizen_sub=citizen_sub, to_citizen=hide)

    for who in ("citizen", "analyst", "assignee"):
        doc[who] = show(doc[who])
    doc["steps"] = [{**s, "checked_by": show(s.get("checked_by"))} for s in doc["steps"]]
    for decided in ("rejection", "conclusion"):
        if doc[decided] is not None:
            doc[decided] = {**doc[decided], "by": show(doc[decided].get("by"))}
    return doc


def request_body(req: Request, viewer: Principal | None) -> Doc:
    """``RequestOut``'s JSON of ``request_doc``, made without the model: the detail's most
    read answer, where validating and dumping the model cost as much as reading the
    request. Its fields are RequestOut's, in its order (a test holds them to the model's
    own dump)."""
    citizen_sub, hide = req.citizen["sub"], to_citizen(req, viewer)

    def show(party: Doc | None) -> Doc | None:
        return _person(shown(party, citizen_sub=citizen_sub, to_citizen=hide))

    rejection, conclusion = req.rejection, req.conclusion
    return {
        "id": req.id, "service_id": req.service_id, "service_name": req.service_name,
        "org": req.org, "unit": req.unit, "citizen": show(req.citizen),
        "answers": req.answers, "documents": [_document(d) for d in req.documents],
        "status": req.status,
        "steps": [{"key": s["key"], "label": s["label"], "ok": s["ok"], "note": s["note"],
                   "checked_by": show(s.get("checked_by")), "checked_at": s["checked_at"]}
                  for s in req.steps],
        "analyst": show(req.analyst), "assignee": show(req.assignee),
        "rejection": None if rejection is None else {
            "justification": rejection["justification"], "by": show(rejection.get("by")),
            "at": rejection["at"]},
        "conclusion": None if conclusion is None else {
            "summary": conclusion["summary"],
            "attachment": _document(conclusion.get("attachment")),
            "by": show(conclusion.get("by")), "at": conclusion["at"]},
        "citizen_verdict": req.citizen_verdict, "due_at": req.due_at,
        "last_activity_at": req.last_activity_at, "created_at": req.created_at,
        "updated_at": req.updated_at, "version": req.version,
    }


def _person(party: Doc | None) -> Doc | None:
    """A shown party as ``PartyOut`` writes it: no ``sub`` or ``role`` that is null."""
    if party is None:
        return None
    return {k: v for k, v in party.items() if v is not None or k == "name"}


def _document(doc: Doc | None) -> Doc | None:
    if doc is None:
        return None
    return {"id": doc["id"], "key": doc.get("key"), "filename": doc["filename"],
            "content_type": doc["content_type"], "size": doc["size"],
            "sha256": doc["sha256"]}


def timeline_entry(item: Doc, req: Request, viewer: Principal) -> Doc:
    citizen_sub, hide = req.citizen["sub"], to_citizen(req, viewer)
    data = item.get("data") or {}
    key = _ACTOR_ROLE_KEY.get(item["type"])
    return {"at": item["at"], "type": item["type"],
            "actor": shown(item.get("actor"), citizen_sub=citizen_sub, to_citizen=hide,
                           role=data.get(key) if key else None),
            "data": shown_within(data, citizen_sub=citizen_sub, to_citizen=hide)}


def timeline_body(item: Doc, req: Request, viewer: Principal) -> Doc:
    """``TimelineEntry``'s JSON of ``timeline_entry``, made without the model (a test
    holds it to the model's own dump)."""
    entry = timeline_entry(item, req, viewer)
    entry["actor"] = _person(entry["actor"])
    return entry


def citizen_panel(page: JsonPage, citizen_sub: str) -> JsonPage:
    """A citizen's own panel: the assignee by name and role, never by sub."""
    items: list[dict[str, Any]] = orjson.loads(page.items)
    for item in items:
        if item is None:
            continue
        item["assignee"] = shown(item.get("assignee"), citizen_sub=citizen_sub,
                                 to_citizen=True)
        item["citizen_name"] = shown_name(item.get("citizen_name"), citizen_sub,
                                          citizen=True)
    return JsonPage(orjson.dumps(items), page.next_cursor)
