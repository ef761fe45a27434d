"""How this service's items sit in its single table.

    REQ#<request id>  / VIEW                           the request projection
                                                       (version = the request's version)
    REQ#<request id>  / FU#<created_at>#<followup id>  a follow-up: the history is one
                                                       forward range scan of the partition
    REQ#<request id>  / ATT#<attachment id>            where an attachment's bytes are
    NOTE#<id>         / NOTE                           an in-app notification, read by id

Index:
    gsi1  INBOX#<recipient sub>   <created_at>#<id>    a person's inbox, newest first
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from services.followups.model import Attachment, Followup, RequestView
from shared.clock import iso, parse
from shared.messages import Event, Party, RosterChanged
from shared.outbox import UnitOfWork
from shared.projection import VIEW_SK, load_view, query_page, store_view, view_of
from shared.tables import Item, Page, Table

Reader = UnitOfWork | Table  # anything with get(pk, sk)


def _pk(request_id: str) -> str:
    return f"REQ#{request_id}"


def inbox_pk(sub: str) -> str:
    return f"INBOX#{sub}"


def note_key(note_id: str) -> tuple[str, str]:
    return f"NOTE#{note_id}", "NOTE"


query = query_page


# --- request projection ------------------------------------------------------------


def view_key(request_id: str) -> tuple[str, str]:
    return _pk(request_id), VIEW_SK


def get_view(uow: Reader, request_id: str) -> RequestView | None:
    return load_view(uow, _pk(request_id), request_id, RequestView)


def put_view(uow: UnitOfWork, view: RequestView, previous: RequestView | None) -> None:
    store_view(uow, _pk(view.id), view, previous)


def event_reads(event: Event) -> list[tuple[str, str]]:
    """What the worker's effect of an event reads (``handlers.apply_event``): the
    request's view, for every event but the roster's."""
    return [] if isinstance(event, RosterChanged) else [view_key(event.request_id)]


# --- follow-ups --------------------------------------------------------------------


def _attachment_doc(a: Attachment) -> dict[str, Any]:
    return {"id": a.id, "filename": a.filename, "content_type": a.content_type,
            "size": a.size, "blob": a.blob}


def add_followup(uow: UnitOfWork, f: Followup) -> None:
    created = iso(f.created_at)
    uow.put({
        "pk": _pk(f.request_id), "sk": f"FU#{created}#{f.id}", "version": 1, "id": f.id,
        "request_id": f.request_id, "author": f.author.model_dump(mode="json"),
        "author_role": f.author_role, "body": f.body, "created_at": created,
        "attachments": [_attachment_doc(a) for a in f.attachments],
    }, new=True)
    for a in f.attachments:
        uow.put({"pk": _pk(f.request_id), "sk": f"ATT#{a.id}", "version": 1,
                 "followup_id": f.id, **_attachment_doc(a)}, new=True)
    for event in f.events:
        uow.publish(event)
    f.events.clear()


def followup_from_item(item: Item) -> Followup:
    return Followup(
        id=item["id"], request_id=item["request_id"],
        author=Party.model_validate(item["author"]), author_role=item["author_role"],
        body=item["body"], created_at=parse(item["created_at"]),
        attachments=[Attachment(a["id"], a["filename"], a["content_type"], a["size"],
                                a["blob"]) for a in item["attachments"]])


def followups(table: Table, request_id: str, limit: int, cursor: str | None
              ) -> tuple[list[Followup], str | None]:
    page = query(table, _pk(request_id), prefix="FU#", limit=limit, cursor=cursor)
    return [followup_from_item(i) for i in page.items], page.next_cursor


def view_and_followups(table: Table, request_id: str, limit: int,
                       along: Sequence[tuple[str, str]] = ()
                       ) -> tuple[tuple[RequestView, list[Followup]] | None, list[Item | None]]:
    """The view and every follow-up of the request in one read (the follow-ups' keys sort
    right before the view's), or None where one read does not hold both: no view, or more
    than ``limit`` follow-ups (then the two reads, with a cursor); and the items at the
    ``along`` keys, read with them."""
    page = query(table, _pk(request_id), start="FU#", end=VIEW_SK, limit=limit + 1,
                 along=along)
    items = page.items
    if not items or items[-1]["sk"] != VIEW_SK:
        return None, page.along
    view = view_of(items[-1], request_id, RequestView)
    return (view, [followup_from_item(i) for i in items[:-1]]), page.along


def get_attachment(uow: Reader, request_id: str, followup_id: str,
                   attachment_id: str) -> Attachment | None:
    item = uow.get(_pk(request_id), f"ATT#{attachment_id}")
    if item is None or item["followup_id"] != followup_id:
        return None
    return Attachment(item["id"], item["filename"], item["content_type"], item["size"],
                      item["blob"])


# --- notifications -----------------------------------------------------------------


def new_note(note_id: str, recipient: str, kind: str, request_id: str, title: str,
             body: str, created_at: str) -> Item:
    pk, sk = note_key(note_id)
    return {"pk": pk, "sk": sk, "version": 1, "id": note_id, "recipient": recipient,
            "kind": kind, "request_id": request_id, "title": title, "body": body,
            "created_at": created_at, "read": False, "mailed_at": None,
            "gsi1pk": inbox_pk(recipient), "gsi1sk": f"{created_at}#{note_id}"}


def get_note(uow: Reader, note_id: str) -> Item | None:
    return uow.get(*note_key(note_id))


def inbox(table: Table, sub: str, limit: int, cursor: str | None) -> Page:
    return query(table, inbox_pk(sub), index="gsi1", forward=False, limit=limit,
                 cursor=cursor)
