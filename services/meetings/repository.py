"""How this service's items sit in its single table.

    REQ#<request id> / VIEW                  the request projection (version = the request's)
    REQ#<request id> / MEET#<meeting id>     a meeting; a request's meetings are one range
                                             scan of its partition, in creation order
    REQ#<request id> / REMIND#<meeting id>   the meeting's pending reminder, if any
    GUEST#<guest id> / GUEST                 a guest, found by the id inside an invite token
    ATT#<sub>        / SCHEDULE              versioned; every change to the attendant's slots
                                             goes through it, so two overlapping schedules
                                             cannot both commit
    ATT#<sub>        / SLOT#<starts>#<mid>   a scheduled meeting's time (until cancelled)

Index:
    gsi1  REMINDER   <due at>#<meeting id>   reminders by due time, for the scheduler tick
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from services.meetings.model import Cancellation, Guest, Meeting, RequestView
from services.meetings.reminder_index import REMINDER_INDEX
from shared.clock import iso, parse
from shared.errors import Conflict
from shared.messages import Event, Party, RequestEvent
from shared.outbox import UnitOfWork
from shared.projection import VIEW_SK, load_view, query_page, store_view, view_of
from shared.tables import Check, Item, Table

Reader = UnitOfWork | Table  # anything with get(pk, sk)
MAX_DURATION = timedelta(minutes=240)


def _pk(request_id: str) -> str:
    return f"REQ#{request_id}"


query = query_page


# --- request projection ------------------------------------------------------------


def get_view(uow: Reader, request_id: str) -> RequestView | None:
    return load_view(uow, _pk(request_id), request_id, RequestView)


def event_reads(event: Event) -> list[tuple[str, str]]:
    """What the worker's effect of a request event reads first (``handlers.apply_event``):
    the request's view."""
    return [(_pk(event.request_id), VIEW_SK)] if isinstance(event, RequestEvent) else []


def put_view(uow: UnitOfWork, view: RequestView, previous: RequestView | None) -> None:
    store_view(uow, _pk(view.id), view, previous)


# --- meetings ----------------------------------------------------------------------


def _party(doc: dict[str, Any]) -> Party:
    return Party.model_validate(doc)


def meeting_from_item(item: Item) -> Meeting:
    c = item.get("cancellation")
    return Meeting(
        id=item["id"], request_id=item["request_id"], subject=item["subject"],
        starts_at=parse(item["starts_at"]), duration_minutes=item["duration_minutes"],
        room=item["room"], attendant=_party(item["attendant"]),
        created_at=parse(item["created_at"]), status=item["status"],
        guests=[Guest(g["id"], g["name"], g["email"]) for g in item["guests"]],
        cancellation=Cancellation(c["reason"], _party(c["by"]), parse(c["at"])) if c else None,
        version=item["version"])


def _meeting_item(mt: Meeting) -> Item:
    c = mt.cancellation
    return {
        "pk": _pk(mt.request_id), "sk": f"MEET#{mt.id}", "version": mt.version,
        "id": mt.id, "request_id": mt.request_id, "subject": mt.subject,
        "starts_at": iso(mt.starts_at), "ends_at": iso(mt.ends_at),
        "duration_minutes": mt.duration_minutes, "room": mt.room, "status": mt.status,
        "attendant": mt.attendant.model_dump(mode="json"), "created_at": iso(mt.created_at),
        "guests": [{"id": g.id, "name": g.name, "email": g.email} for g in mt.guests],
        "cancellation": None if c is None else {
            "reason": c.reason, "by": c.by.model_dump(mode="json"), "at": iso(c.at)},
    }


def get_meeting(uow: Reader, request_id: str, meeting_id: str) -> Meeting | None:
    item = uow.get(_pk(request_id), f"MEET#{meeting_id}")
    return meeting_from_item(item) if item is not None else None


def save_meeting(uow: UnitOfWork, mt: Meeting) -> None:
    """The meeting (versioned) and the events it recorded, in the same transaction."""
    uow.save(_meeting_item(mt))
    for event in mt.events:
        uow.publish(event)
    mt.events.clear()


def meetings(table: Table, request_id: str, limit: int, cursor: str | None
             ) -> tuple[list[Meeting], str | None]:
    page = query(table, _pk(request_id), prefix="MEET#", limit=limit, cursor=cursor)
    return [meeting_from_item(i) for i in page.items], page.next_cursor


def view_and_meetings(table: Table, request_id: str, limit: int,
                      along: Sequence[tuple[str, str]] = ()
                      ) -> tuple[tuple[RequestView, list[Meeting]] | None, list[Item | None]]:
    """The view and every meeting of the request in one read: the meetings' keys sort
    before the view's, with only their reminders (one at most a meeting) between. None
    where one read does not hold both: no view, or more than ``limit`` meetings (then the
    two reads, with a cursor); and the items at the ``along`` keys, read with them."""
    page = query(table, _pk(request_id), start="MEET#", end=VIEW_SK, limit=2 * limit + 1,
                 along=along)
    items = page.items
    if not items or items[-1]["sk"] != VIEW_SK:
        return None, page.along
    found = [meeting_from_item(i) for i in items[:-1] if i["sk"].startswith("MEET#")]
    if len(found) > limit:
        return None, page.along
    return (view_of(items[-1], request_id, RequestView), found), page.along


# --- the attendant's calendar ------------------------------------------------------


def _slot_sk(starts_at: datetime, meeting_id: str) -> str:
    return f"SLOT#{iso(starts_at)}#{meeting_id}"


def occupy(uow: UnitOfWork, mt: Meeting, *, previous_start: datetime | None = None) -> None:
    """Take the meeting's time in its attendant's calendar (moving it from
    ``previous_start``), or 409 if another scheduled meeting of theirs overlaps.

    Race-safe: the check reads the calendar at one version of its SCHEDULE item and the
    writes are conditioned on that version, so of two overlapping commands one fails its
    condition and, retried by run_command, sees the other's slot."""
    pk = f"ATT#{mt.attendant.sub}"
    schedule = _bump_schedule(uow, pk)
    start, end = iso(mt.starts_at), iso(mt.ends_at)
    cursor: str | None = None
    while True:
        # A meeting lasts at most MAX_DURATION, so one starting earlier cannot overlap.
        page = uow.table.query(pk, start=f"SLOT#{iso(mt.starts_at - MAX_DURATION)}",
                               end=f"SLOT#{end}", limit=100, cursor=cursor)
        for slot in page.items:
            if slot["meeting_id"] != mt.id and slot["ends_at"] > start:
                raise Conflict(f"the attendant already has a meeting from {slot['starts_at']} "
                               f"to {slot['ends_at']}")
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    if previous_start is not None and previous_start != mt.starts_at:
        # (Never a delete and a put of one key in a transaction: DynamoDB refuses it.)
        uow.delete(pk, _slot_sk(previous_start, mt.id))
    uow.put({"pk": pk, "sk": _slot_sk(mt.starts_at, mt.id), "version": 1,
             "meeting_id": mt.id, "request_id": mt.request_id,
             "starts_at": start, "ends_at": end})
    uow.save(schedule)


def release(uow: UnitOfWork, *released: Meeting) -> None:
    """Free the meetings' times in their attendants' calendars."""
    for sub in {mt.attendant.sub for mt in released}:
        uow.save(_bump_schedule(uow, f"ATT#{sub}"))
    for mt in released:
        uow.delete(f"ATT#{mt.attendant.sub}", _slot_sk(mt.starts_at, mt.id))


def _bump_schedule(uow: UnitOfWork, pk: str) -> Item:
    current = uow.get(pk, "SCHEDULE")
    version = current["version"] if current else 0
    return {"pk": pk, "sk": "SCHEDULE", "version": version + 1}


# --- reminders ---------------------------------------------------------------------


def _reminder_key(request_id: str, meeting_id: str) -> tuple[str, str]:
    return _pk(request_id), f"REMIND#{meeting_id}"


def set_reminder(uow: UnitOfWork, mt: Meeting, lead: timedelta, now: datetime) -> None:
    """The meeting's one reminder, for its current time (replacing any earlier one). None
    when the meeting is nearer than the lead time: its scheduling notice says as much."""
    pk, sk = _reminder_key(mt.request_id, mt.id)
    current = uow.get(pk, sk)
    due = mt.starts_at - lead
    if due <= now:
        if current is not None:
            uow.delete(pk, sk)
        return
    version = current["version"] + 1 if current else 1
    uow.put({"pk": pk, "sk": sk, "version": version, "request_id": mt.request_id,
             "meeting_id": mt.id, "starts_at": iso(mt.starts_at), "due_at": iso(due),
             "gsi1pk": REMINDER_INDEX, "gsi1sk": f"{iso(due)}#{mt.id}"})


def drop_reminder(uow: UnitOfWork, mt: Meeting) -> None:
    uow.delete(*_reminder_key(mt.request_id, mt.id))


def get_reminder(uow: Reader, request_id: str, meeting_id: str) -> Item | None:
    return uow.get(*_reminder_key(request_id, meeting_id))


def delete_reminder(uow: UnitOfWork, item: Item) -> None:
    """Conditioned on the version read, so two racing ticks fire it once."""
    uow.delete(item["pk"], item["sk"], expect_version=item["version"])


def check_meeting_unchanged(uow: UnitOfWork, mt: Meeting) -> None:
    uow.add(Check(_pk(mt.request_id), f"MEET#{mt.id}", expect_version=mt.version))


# --- guests ------------------------------------------------------------------------


def add_guest(uow: UnitOfWork, mt: Meeting, guest: Guest, token_hash: str) -> None:
    uow.put({"pk": f"GUEST#{guest.id}", "sk": "GUEST", "version": 1, "id": guest.id,
             "meeting_id": mt.id, "request_id": mt.request_id, "name": guest.name,
             "email": guest.email, "token_hash": token_hash, "mailed_at": None}, new=True)


def get_guest(uow: Reader, guest_id: str) -> Item | None:
    return uow.get(f"GUEST#{guest_id}", "GUEST")
