"""Item shapes of the requests table: every list query is one index range.

item       pk            sk                  indexes (sparse)
service    SVC#<id>      SVC                 gsi1 CATALOG / <name>#<id>, only while active
attendant  ROSTER#<org>  <sub>               gsi2 ROSTER#<org>#<unit> / <sub>
                                             (the layout of shared.roster, whose
                                             copies the other services keep)
request    REQ#<id>      REQ
panel row  REQ#<id>      PANEL               gsi1 CIT#<citizen>, gsi2 UNIT#<org>#<unit>,
                                             gsi3 ORG#<org>, gsi4 ASG#<org>#<assignee>,
                                             each sorted by <created_at>#<id>
timeline   REQ#<id>      TL#<at>#<event id>
upload     REQ#<id>      UPLOAD#<upload id>  a direct upload's slot (services/requests/uploads.py)

A request's panel row is written with it, in the same transaction: it holds the page's
item ready-made (``view``) beside the fields the panel's filters look at, so a page returns
stored rows as they are instead of decoding whole requests (answers, steps, documents) and
picking their fields, a page's largest cost before.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from services.requests.model import Request, person
from shared.identity import shown_name
from shared.ids import new_id
from shared.messages import Event
from shared.outbox import UnitOfWork
from shared.projection import query_page
from shared.roster import roster_pk
from shared.tables import Item, Put, Table, encode_cursor

CATALOG = "CATALOG"
TIMELINE_END = "TL#\U0010ffff"  # after every timeline key, before the uploads'
_KEYS = frozenset(["pk", "sk", *(f"gsi{n}{k}" for n in range(1, 5) for k in ("pk", "sk"))])


def _strip(item: Item | None) -> dict[str, Any] | None:
    if item is None:
        return None
    return {k: v for k, v in item.items() if k not in _KEYS}


# --- catalog -------------------------------------------------------------------------


def get_service(uow: UnitOfWork, service_id: str) -> dict[str, Any] | None:
    return _strip(uow.get(f"SVC#{service_id}", "SVC"))


def save_service(uow: UnitOfWork, service: dict[str, Any]) -> None:
    item: Item = {**service, "pk": f"SVC#{service['id']}", "sk": "SVC"}
    if service["active"]:
        item |= {"gsi1pk": CATALOG, "gsi1sk": f"{service['name'].casefold()}#{service['id']}"}
    uow.save(item)


# --- roster --------------------------------------------------------------------------


def get_attendant(uow: UnitOfWork, org: str, sub: str) -> dict[str, Any] | None:
    return _strip(uow.get(roster_pk(org), sub))


def put_attendant(uow: UnitOfWork, attendant: dict[str, Any], previous_version: int) -> int:
    version = previous_version + 1
    item: Item = {**attendant, "version": version, "pk": roster_pk(attendant["org"]),
                  "sk": attendant["sub"], "gsi2pk": roster_pk(attendant["org"],
                                                              attendant["unit"]),
                  "gsi2sk": attendant["sub"]}
    uow.save(item)
    return version


# --- requests ------------------------------------------------------------------------


def request_key(request_id: str) -> tuple[str, str]:
    return f"REQ#{request_id}", "REQ"


def event_reads(event: Event) -> list[tuple[str, str]]:
    """What the worker's effect of an event reads (``consumers.apply``): its request."""
    return [request_key(event.request_id)]


def get_request(uow: UnitOfWork, request_id: str) -> Request | None:
    doc = uow.get(*request_key(request_id))
    if doc is None:
        return None
    del doc["pk"], doc["sk"]  # a fresh dict, ours to change
    return Request.from_doc(doc)


def request_and_timeline(table: Table, request_id: str, limit: int,
                         along: Sequence[tuple[str, str]] = ()
                         ) -> tuple[Request | None, list[Item], str | None, list[Item | None]]:
    """The request and the first ``limit`` entries of its timeline in one range read (the
    request's key sorts right before its timeline's), with the timeline's next cursor and
    the items at the ``along`` keys, read with them."""
    pk, sk = request_key(request_id)
    page = query_page(table, pk, start=sk, end=TIMELINE_END, limit=limit + 2, along=along)
    items = page.items
    if not items or items[0]["sk"] != sk:
        return None, [], None, page.along
    doc = items[0]
    del doc["pk"], doc["sk"]
    entries = items[1:limit + 1]
    cursor = encode_cursor([entries[-1]["sk"]]) if len(items) > limit + 1 else None
    return Request.from_doc(doc), entries, cursor, page.along


def save_request(uow: UnitOfWork, req: Request) -> None:
    """The request, its panel row, its new timeline entries and its events, in the
    command's unit."""
    uow.save({**req.to_doc(), "pk": f"REQ#{req.id}", "sk": "REQ"})
    uow.add(Put(panel_row(req)))  # the request's own version check guards both
    _put_entries(uow, req)
    for event in req.events:
        uow.publish(event)
    req.events.clear()


def save_activity(uow: UnitOfWork, req: Request) -> None:
    """The request after other services' events were noted on it (``note_activity``) and
    nothing else, as a consumer leaves it: its item and its new timeline entries. Not its
    panel row, which shows nothing an activity changes; and the item not copied, since the
    consumer drops the request once saved."""
    uow.save({**req.fields_view(), "pk": f"REQ#{req.id}", "sk": "REQ"})
    _put_entries(uow, req)


def _put_entries(uow: UnitOfWork, req: Request) -> None:
    for entry in req.entries:
        eid = entry.pop("event_id", None) or new_id()
        uow.add(Put({"pk": f"REQ#{req.id}", "sk": f"TL#{entry['at']}#{eid}", **entry}))
    req.entries.clear()


def panel_row(req: Request) -> Item:
    order = f"{req.created_at}#{req.id}"
    row: Item = {
        "pk": f"REQ#{req.id}", "sk": "PANEL",
        # What the panel's filters look at.
        "status": req.status, "service_id": req.service_id, "unit": req.unit,
        "assignee_sub": req.assignee["sub"] if req.assignee else None, "due_at": req.due_at,
        # A PanelItem, as the route returns it.
        "view": {"id": req.id, "service_id": req.service_id, "service_name": req.service_name,
                 "citizen_name": shown_name(req.citizen["name"], req.citizen["sub"],
                                            citizen=True), "status": req.status,
                 "assignee": person(req.assignee), "citizen_verdict": req.citizen_verdict,
                 "due_at": req.due_at, "created_at": req.created_at,
                 "updated_at": req.updated_at},
        "gsi1pk": f"CIT#{req.citizen['sub']}", "gsi1sk": order,
        "gsi2pk": f"UNIT#{req.org}#{req.unit}", "gsi2sk": order,
        "gsi3pk": f"ORG#{req.org}", "gsi3sk": order}
    if req.assignee:
        row |= {"gsi4pk": f"ASG#{req.org}#{req.assignee['sub']}", "gsi4sk": order}
    return row
