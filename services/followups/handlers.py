"""Commands and queries of the followups service. Commands register their writes and events
in the unit of work and return the response; the caller commits (run_command, apply_once).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from services.followups import notifications, repository
from services.followups.model import Attachment, Followup, RequestView, stored_attachment
from services.followups.schemas import (
    FollowupOut,
    FollowupPage,
    NotificationOut,
    NotificationPage,
)
from shared.blobs import Blobs
from shared.clock import Clock, iso
from shared.errors import NotFound
from shared.files import DOCUMENT_TYPES, FilePart, accept
from shared.identity import Principal
from shared.ids import new_id
from shared.logs import log as log_fields
from shared.messages import Event, RequestEvent, RosterChanged
from shared.outbox import UnitOfWork
from shared.projection import page_with_view
from shared.roster import apply_roster, entry_keys, require_enabled
from shared.settings import Settings
from shared.tables import Item, Table

log = logging.getLogger("atende.followups")


def _known_view(uow: UnitOfWork | Table, request_id: str) -> RequestView:
    view = repository.get_view(uow, request_id)
    if view is None:
        raise NotFound("request not found")  # not (yet) known here: the same as hidden
    return view


def _visible_view(uow: UnitOfWork | Table, who: Principal, request_id: str) -> RequestView:
    """The request as ``who`` may see it; ``who`` already judged by the roster."""
    view = _known_view(uow, request_id)
    view.check_visible(who)
    return view


# --- follow-ups --------------------------------------------------------------------


def post_followup(uow: UnitOfWork, blobs: Blobs, settings: Settings, who: Principal,
                  request_id: str, body: str, files: Sequence[FilePart],
                  clock: Clock) -> FollowupOut:
    # The roster entry and the view in one request to the store: under the server each
    # SQLite statement costs hand-overs of the GIL between threads (docs/performance.md).
    uow.read_ahead([*entry_keys(who), repository.view_key(request_id)])
    who = require_enabled(who, uow)
    view = _known_view(uow, request_id)
    # The command's one permission check, before looking at (or storing) any file.
    role = view.author_role(who)
    # Every file is judged before any is stored: a bad one refuses the whole post.
    uploads = [accept(f.filename, f.data, allowed=DOCUMENT_TYPES,
                      max_bytes=settings.max_file_bytes) for f in files]
    attachments = [stored_attachment(new_id(), u, blobs.put(u.data, u.content_type))
                   for u in uploads]
    followup = Followup.post(new_id(), view, who, role, body, attachments, clock.now())
    repository.add_followup(uow, followup)
    log_fields(log, "followup posted", request_id=request_id, followup_id=followup.id,
               attachments=len(attachments))
    return FollowupOut.of(followup, view, who)


def list_followups(table: Table, who: Principal, request_id: str, limit: int,
                   cursor: str | None) -> FollowupPage:
    who, view, items, next_cursor = page_with_view(
        table, who, cursor,
        lambda keys: repository.view_and_followups(table, request_id, limit, keys),
        lambda judged: (_visible_view(table, judged, request_id),
                        repository.followups(table, request_id, limit, cursor)))
    return FollowupPage(items=[FollowupOut.of(f, view, who) for f in items],
                        next_cursor=next_cursor)


def read_attachment(table: Table, blobs: Blobs, who: Principal, request_id: str,
                    followup_id: str, attachment_id: str) -> tuple[bytes, str, str]:
    found = attachment_of(table, who, request_id, followup_id, attachment_id)
    return blobs.get(found.blob), found.content_type, found.filename


def attachment_of(table: Table, who: Principal, request_id: str, followup_id: str,
                  attachment_id: str) -> Attachment:
    _visible_view(table, require_enabled(who, table), request_id)
    found = repository.get_attachment(table, request_id, followup_id, attachment_id)
    if found is None:
        raise NotFound("attachment not found")
    return found


# --- notifications -----------------------------------------------------------------


def _note_out(item: Item) -> NotificationOut:
    return NotificationOut.model_validate(item)


def list_notifications(table: Table, who: Principal, limit: int, cursor: str | None
                       ) -> NotificationPage:
    who = require_enabled(who, table)
    page = repository.inbox(table, who.sub, limit, cursor)
    return NotificationPage(items=[_note_out(i) for i in page.items],
                            next_cursor=page.next_cursor)


def mark_read(uow: UnitOfWork, who: Principal, note_id: str) -> NotificationOut:
    who = require_enabled(who, uow)
    item = repository.get_note(uow, note_id)
    if item is None or item["recipient"] != who.sub:
        raise NotFound("notification not found")
    if not item["read"]:
        item = {**item, "read": True, "version": item["version"] + 1}
        uow.save(item)
    return _note_out(item)


def mark_mailed(uow: UnitOfWork, item: Item | None, clock: Clock) -> None:
    """Record that the notification ``item`` (as last read) had its mail sent: saved on
    its version, so that a change since fails the commit and is read again."""
    if item is not None and not item.get("mailed_at"):
        # Sent: the address and the mail's text are kept no longer than needed.
        uow.save({**item, "mailed_at": iso(clock.now()), "mail": None,
                  "version": item["version"] + 1})


def pending_mail(item: Item | None) -> dict[str, Any] | None:
    """The mail the notification ``item`` is waiting to send, or None (none, or sent)."""
    if item is None or item.get("mailed_at"):
        return None
    mail: dict[str, Any] | None = item.get("mail")
    return mail


# --- events ------------------------------------------------------------------------


def apply_request_event(uow: UnitOfWork, event: RequestEvent,
                        current: RequestView | None) -> RequestView:
    """Keep the newest snapshot: a duplicate or an older event arriving late changes
    nothing. Returns the view as it stands after the event."""
    if current is not None and current.version >= event.request.version:
        return current
    view = RequestView(event.request_id, event.request)
    repository.put_view(uow, view, current)
    return view


def apply_event(uow: UnitOfWork, event: Event, link: str | None = None) -> dict[str, Any]:
    """One event's whole effect: the projection, then who is told (``link``: the
    request's page for the mails, ``{id}`` its id)."""
    if isinstance(event, RosterChanged):
        return {"roster_changed": apply_roster(uow, event)}
    view = repository.get_view(uow, event.request_id)
    if isinstance(event, RequestEvent):
        view = apply_request_event(uow, event, view)
    told = notifications.notify(uow, event, view, link)
    return {"notifications": len(told)}
