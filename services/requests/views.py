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


def timeline_entry(item: Doc, req: Request, viewer: Principal) -> Doc:
    citizen_sub, hide = req.citizen["sub"], to_citizen(req, viewer)
    data = item.get("data") or {}
    key = _ACTOR_ROLE_KEY.get(item["type"])
    return {"at": item["at"], "type": item["type"],
            "actor": shown(item.get("actor"), citizen_sub=citizen_sub, to_citizen=hide,
                           role=data.get(key) if key else None),
            "data": shown_within(data, citizen_sub=citizen_sub, to_citizen=hide)}


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
