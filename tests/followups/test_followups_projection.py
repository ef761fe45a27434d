"""The followups consumer: request events build the projection (newest request.version
wins, whatever the order of delivery) and a repeated delivery tells nobody twice."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from services.followups import repository
from services.followups.consumers import send_mail
from shared.ids import new_id
from shared.messages import FollowupPosted
from shared.tables import Put
from tests.followups.followups_support import (
    ASSIGNEE,
    CITIZEN,
    RecordingMailer,
    analysis,
    approved,
    concluded,
    feed,
    inbox,
    mails,
    submitted,
    to_state,
    token,
    view,
)


def _status(h: Any, rid: str) -> tuple[str, int]:
    item = view(h, rid)
    assert item is not None
    return item["request"]["status"], item["version"]


def test_duplicate_request_events_apply_once(harness: Any) -> None:
    rid = new_id()
    event = analysis(rid)
    assert feed(harness, submitted(rid), event, event) == [True, True, False]
    assert _status(harness, rid) == ("in_analysis", 2)
    assert [n["kind"] for n in inbox(harness, CITIZEN.sub)] == ["analysis_started"]


def test_out_of_order_request_events_keep_the_newest(harness: Any) -> None:
    rid = new_id()
    # Concluded arrives first; the older events still count as applied (and notify) but
    # never move the projection back.
    assert feed(harness, concluded(rid), approved(rid), submitted(rid), analysis(rid)
                ) == [True, True, True, True]
    assert _status(harness, rid) == ("concluded", 9)
    r = harness.client.simulate_post(f"/requests/{rid}/followups", json={"body": "oi"},
                                     headers=token(harness, "assignee"))
    assert r.status_code == 409


def test_swapped_pair_ends_the_same_either_way(harness: Any) -> None:
    a, b = new_id(), new_id()
    feed(harness, submitted(a), approved(a))
    feed(harness, approved(b), submitted(b))
    assert _status(harness, a)[0] == _status(harness, b)[0] == "in_service"
    for rid in (a, b):
        r = harness.client.simulate_post(f"/requests/{rid}/followups", json={"body": "oi"},
                                         headers=token(harness, "citizen"))
        assert r.status_code == 201


def test_duplicate_followup_posted_tells_once_and_mails_once(harness: Any) -> None:
    rid = new_id()
    to_state(harness, rid, "in_service")
    harness.drain()
    before_mails = len(mails(harness))
    event = FollowupPosted(request_id=rid, followup_id=new_id(), author=CITIZEN,
                           author_role="citizen", attachments=2, recipient=ASSIGNEE)
    assert feed(harness, event, event) == [True, False]
    harness.drain()
    feed(harness, event)
    harness.drain()
    told = [n for n in inbox(harness, ASSIGNEE.sub) if n["kind"] == "followup_posted"]
    assert len(told) == 1
    assert "2 anexos" in told[0]["body"]
    assert len(mails(harness)) == before_mails + 1
    assert inbox(harness, CITIZEN.sub)[0]["kind"] != "followup_posted"


def test_a_mail_job_delivered_again_sends_nothing(harness: Any) -> None:
    ctx = harness.platform.contexts["followups"]
    recorder = RecordingMailer()
    ctx.deps.mailer = recorder
    rid = new_id()
    feed(harness, submitted(rid), analysis(rid))
    harness.drain()
    assert len(recorder.sent) == 1
    assert recorder.sent[0].to == CITIZEN.email
    note = inbox(harness, CITIZEN.sub)[0]
    again = {"notification_id": note["id"], "to": CITIZEN.email, "subject": "s",
             "text": "t"}
    assert send_mail(ctx, again) is False
    assert len(recorder.sent) == 1


class _Watched:
    """The service's table, its reads and write transactions counted; ``meanwhile`` runs
    once, right before the first transaction (a change made by someone else)."""

    def __init__(self, table: Any, meanwhile: Any = None) -> None:
        self.table, self.name, self.meanwhile = table, table.name, meanwhile
        self.gets = self.transactions = 0

    def __getattr__(self, attr: str) -> Any:
        return getattr(self.table, attr)

    def get(self, pk: str, sk: str) -> Any:
        self.gets += 1
        return self.table.get(pk, sk)

    def transact(self, writes: Any, *, durable: bool = True) -> None:
        self.transactions += 1
        if self.meanwhile is not None:
            self.meanwhile, run = None, self.meanwhile
            run()
        self.table.transact(writes, durable=durable)


def _pending_note(ctx: Any) -> str:
    note_id = new_id()
    note = repository.new_note(note_id, CITIZEN.sub, "analysis_started", new_id(), "Título",
                               "Corpo", "2026-01-01T00:00:00Z")
    note["mail"] = {"to": CITIZEN.email, "subject": "Título", "text": "Corpo"}
    ctx.table.transact([Put(note, must_not_exist=True)])
    return note_id


def test_a_mail_job_reads_its_notification_once_and_records_the_sending_on_it(
        harness: Any) -> None:
    ctx = harness.platform.contexts["followups"]
    recorder = RecordingMailer()
    note_id = _pending_note(ctx)
    watched = _Watched(ctx.table)
    job = replace(ctx, table=watched, deps=replace(ctx.deps, mailer=recorder))
    assert send_mail(job, {"notification_id": note_id}) is True
    assert (watched.gets, watched.transactions, len(recorder.sent)) == (1, 1, 1)
    note = repository.get_note(ctx.table, note_id)
    assert note["mailed_at"] and note["mail"] is None and note["version"] == 2
    assert send_mail(job, {"notification_id": note_id}) is False  # delivered again
    assert len(recorder.sent) == 1


def test_a_notification_changed_while_its_mail_went_is_read_again_and_marked(
        harness: Any) -> None:
    ctx = harness.platform.contexts["followups"]
    recorder = RecordingMailer()
    note_id = _pending_note(ctx)

    def read_by_its_owner() -> None:
        note = repository.get_note(ctx.table, note_id)
        ctx.table.transact([Put({**note, "read": True, "version": 2}, expect_version=1)])

    watched = _Watched(ctx.table, read_by_its_owner)
    job = replace(ctx, table=watched, deps=replace(ctx.deps, mailer=recorder))
    assert send_mail(job, {"notification_id": note_id}) is True
    assert (watched.gets, watched.transactions, len(recorder.sent)) == (2, 2, 1)
    note = repository.get_note(ctx.table, note_id)
    assert note["read"] and note["mailed_at"] and note["mail"] is None and note["version"] == 3
