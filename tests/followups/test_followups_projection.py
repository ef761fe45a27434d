"""The followups consumer: request events build the projection (newest request.version
wins, whatever the order of delivery) and a repeated delivery tells nobody twice."""

from __future__ import annotations

from typing import Any

from services.followups.consumers import send_mail
from shared.ids import new_id
from shared.messages import FollowupPosted
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
