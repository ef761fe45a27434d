"""The followups service's commands and consumer against a unit of work: posting (files
judged before anything is stored), the projection of the request, and who is told what,
in the app and by mail."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from services.followups import handlers, repository
from services.followups.contract import MAIL_ACTOR
from services.followups.model import RequestView
from shared import messages as m
from shared.blobs import FileBlobs
from shared.errors import Forbidden, NotFound, UnsupportedMediaType
from shared.files import FilePart
from shared.identity import Principal
from shared.settings import Settings
from tests.domain.support import (
    ANALYST,
    ASSIGNEE,
    CITIZEN,
    COLLEAGUE,
    NOON,
    OTHER_CITIZEN,
    ROSTER,
    STEP,
    Store,
    analysis,
    approved,
    in_service,
    party,
    reassigned,
    snapshot,
    submitted,
)
from tests.helpers import png_bytes

RID = "r1"
TEXT = "Segue a planta baixa assinada, conforme pedido."
PNG = png_bytes()


@pytest.fixture
def store(store: Store) -> Store:
    """A store with this service's copy of the roster."""
    store.feed(handlers.apply_event, *ROSTER)
    return store


@pytest.fixture
def blobs(tmp_path: Path) -> FileBlobs:
    return FileBlobs(tmp_path / "blobs")


def told(store: Store, who: Principal) -> list[str]:
    """The kinds of the notifications in ``who``'s inbox, oldest first."""
    page = handlers.list_notifications(store.table, who, 100, None)
    return [n.kind for n in reversed(page.items)]


def mails(store: Store) -> list[str]:
    """Who the queued mail jobs write to. A job names its notification only: no address or
    text travels through the broker."""
    to = []
    for entry in store.outbox():
        if entry.get("actor") == MAIL_ACTOR:
            assert set(entry["event"]) == {"notification_id", "correlation_id"}
            note = repository.get_note(store.table, entry["event"]["notification_id"])
            assert note is not None
            to.append(note["mail"]["to"])
    return to


def post(store: Store, blobs: FileBlobs, settings: Settings, who: Principal,
         files: list[FilePart] | None = None) -> str:
    return store.run(lambda uow: handlers.post_followup(
        uow, blobs, settings, who, RID, TEXT, files or [], store.clock)).id


def test_an_approval_tells_the_citizen_and_the_assignee_in_app_and_by_mail(
        store: Store) -> None:
    store.feed(handlers.apply_event, submitted(RID), analysis(RID), approved(RID))
    assert told(store, CITIZEN) == ["analysis_started", "request_approved"]
    assert told(store, ASSIGNEE) == ["request_assigned"]
    assert told(store, ANALYST) == []
    assert sorted(mails(store)) == sorted([CITIZEN.email, CITIZEN.email, ASSIGNEE.email])


def test_a_hand_over_tells_the_citizen_and_both_attendants(store: Store) -> None:
    store.feed(handlers.apply_event, *in_service(RID), reassigned(RID, COLLEAGUE))
    assert told(store, CITIZEN)[-1] == "request_reassigned"
    assert told(store, COLLEAGUE) == ["request_assigned"]
    assert told(store, ASSIGNEE) == ["request_assigned", "request_unassigned"]


def test_a_rejection_notice_carries_the_justification(store: Store) -> None:
    rejected = m.RequestRejected(request_id=RID, occurred_at=NOON + 2 * STEP,
                                 request=snapshot("rejected", 3), actor=party(ANALYST),
                                 justification="Faltou o contrato social.")
    store.feed(handlers.apply_event, submitted(RID), analysis(RID), rejected)
    [note] = [n for n in handlers.list_notifications(store.table, CITIZEN, 10, None).items
              if n.kind == "request_rejected"]
    assert "Faltou o contrato social." in note.body


def test_a_repeated_or_late_request_event_leaves_the_newest_view(store: Store) -> None:
    store.feed(handlers.apply_event, *in_service(RID))
    store.feed(handlers.apply_event, analysis(RID))
    view = repository.get_view(store.table, RID)
    assert view is not None and view.snapshot.status == "in_service"


def test_a_citizens_follow_up_is_stored_and_tells_the_assignee_without_its_text(
        store: Store, blobs: FileBlobs, settings: Settings) -> None:
    store.feed(handlers.apply_event, *in_service(RID))
    store.clock.advance(hours=1)
    fid = post(store, blobs, settings, CITIZEN, [FilePart("file", "planta.png", PNG)])
    [event] = store.events(m.FollowupPosted)
    assert event.followup_id == fid and event.attachments == 1
    store.feed(handlers.apply_event, event)
    assert told(store, ASSIGNEE)[-1] == "followup_posted"
    notes = handlers.list_notifications(store.table, ASSIGNEE, 10, None).items
    stored = [repository.get_note(store.table, n.id) for n in notes]
    assert stored and all(TEXT not in str(note) for note in stored)  # in app and by mail
    page = handlers.list_followups(store.table, COLLEAGUE, RID, 10, None)
    [item] = page.items
    assert (item.body, item.author.role) == (TEXT, "citizen")
    [attachment] = item.attachments
    data, content_type, _ = handlers.read_attachment(store.table, blobs, ASSIGNEE, RID, fid,
                                                     attachment.id)
    assert (data, content_type) == (PNG, "image/png")


def test_one_file_that_is_not_a_document_refuses_the_whole_post(
        store: Store, blobs: FileBlobs, settings: Settings, tmp_path: Path) -> None:
    store.feed(handlers.apply_event, *in_service(RID))
    files = [FilePart("file", "planta.png", PNG), FilePart("file", "nota.txt", b"so texto")]
    store.refused(lambda uow: handlers.post_followup(uow, blobs, settings, CITIZEN, RID, TEXT,
                                                     files, store.clock),
                  UnsupportedMediaType)
    assert not any(p.is_file() for p in (tmp_path / "blobs").rglob("*"))


def test_a_colleague_is_refused_before_any_file_is_looked_at(
        store: Store, blobs: FileBlobs, settings: Settings) -> None:
    store.feed(handlers.apply_event, *in_service(RID))
    not_a_document = [FilePart("file", "nota.txt", b"so texto")]
    store.refused(lambda uow: handlers.post_followup(uow, blobs, settings, COLLEAGUE, RID,
                                                     TEXT, not_a_document, store.clock),
                  Forbidden)


def test_a_notification_is_marked_read_by_its_recipient_only(store: Store) -> None:
    store.feed(handlers.apply_event, submitted(RID), analysis(RID))
    [note] = handlers.list_notifications(store.table, CITIZEN, 10, None).items
    store.refused(lambda uow: handlers.mark_read(uow, ASSIGNEE, note.id), NotFound)
    assert store.run(lambda uow: handlers.mark_read(uow, CITIZEN, note.id)).read
    again = store.run(lambda uow: handlers.mark_read(uow, CITIZEN, note.id))
    assert again.read
    item = repository.get_note(store.table, note.id)
    assert item is not None and item["version"] == 2  # marking it twice wrote once


def test_a_post_checks_who_may_see_the_request_once(
        store: Store, blobs: FileBlobs, settings: Settings,
        monkeypatch: pytest.MonkeyPatch) -> None:
    store.feed(handlers.apply_event, *in_service(RID))
    checked: list[str] = []
    check = RequestView.check_visible

    def counted(view: RequestView, who: Principal) -> None:
        checked.append(who.sub)
        check(view, who)

    monkeypatch.setattr(RequestView, "check_visible", counted)
    post(store, blobs, settings, CITIZEN)
    assert checked == [CITIZEN.sub]


class Counted:
    """The table, noting what a handler reads of it."""

    def __init__(self, table: Any) -> None:
        self.table, self.name = table, table.name
        self.asked: list[tuple[str, str | None]] = []

    def get(self, pk: str, sk: str) -> Any:
        self.asked.append(("get", sk))
        return self.table.get(pk, sk)

    def query(self, pk: str, **kw: Any) -> Any:
        self.asked.append(("query", kw.get("prefix") or kw.get("start")))
        return self.table.query(pk, **kw)


def test_a_first_page_of_follow_ups_is_read_with_the_view_in_one_read(
        store: Store, blobs: FileBlobs, settings: Settings) -> None:
    store.feed(handlers.apply_event, *in_service(RID))
    table = Counted(store.table)
    assert handlers.list_followups(table, COLLEAGUE, RID, 10, None).items == []
    assert ("get", "VIEW") not in table.asked and table.asked[-1] == ("query", "FU#")
    posted = []
    for _ in range(3):
        store.clock.advance(minutes=1)
        posted.append(post(store, blobs, settings, CITIZEN, []))
    for limit in (3, 10):
        table.asked.clear()
        page = handlers.list_followups(table, COLLEAGUE, RID, limit, None)
        assert [f.id for f in page.items] == posted and page.next_cursor is None
        assert [a for a in table.asked if a[0] == "query"] == [("query", "FU#")]
        assert ("get", "VIEW") not in table.asked
    # More than a page: the view and the page apart, and the cursor goes on from there.
    first = handlers.list_followups(table, COLLEAGUE, RID, 2, None)
    assert first.next_cursor is not None
    rest = handlers.list_followups(table, COLLEAGUE, RID, 2, first.next_cursor)
    assert [f.id for f in first.items + rest.items] == posted and rest.next_cursor is None
    with pytest.raises(NotFound):  # read in the same one read, still judged
        handlers.list_followups(table, OTHER_CITIZEN, RID, 10, None)
    with pytest.raises(NotFound):
        handlers.list_followups(table, COLLEAGUE, "unknown", 10, None)
