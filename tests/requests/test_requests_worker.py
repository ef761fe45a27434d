"""The requests worker: other contexts' events on the timeline, applied once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from services.requests import store
from services.requests.model import Request
from shared import messages as m
from shared.preconditions import ANY
from shared.tables import Put
from tests.helpers import setup_service, to_state

T0 = datetime(2030, 1, 1, 12, tzinfo=UTC)
ANA = m.Party(sub="ana", name="Ana Cidadã", email="ana@example.com")
BRUNO = m.Party(sub="bruno", name="Bruno", email="bruno@example.gov.br")


def followup(rid: str, at: datetime = T0) -> m.FollowupPosted:
    return m.FollowupPosted(request_id=rid, occurred_at=at, followup_id="f1", author=ANA,
                            author_role="citizen", attachments=1, recipient=BRUNO)


def meeting(kind: type[m.MeetingEvent], rid: str, at: datetime, **extra) -> m.MeetingEvent:
    return kind(request_id=rid, occurred_at=at, meeting_id="m1", subject="Entrevista",
                starts_at=T0 + timedelta(days=1), ends_at=T0 + timedelta(days=1, hours=1),
                actor=BRUNO, **extra)


def deliver(h, event: m.Event) -> None:
    """Through the broker, as the relay would: the service's own actor and queue."""
    h.platform.actors["requests"].send(event.model_dump(mode="json"))


def read(h, s, rid):
    request = h.client.simulate_get(f"/requests/{rid}", headers=s.h("citizen")).json
    timeline = h.client.simulate_get(f"/requests/{rid}/timeline", headers=s.h("citizen"))
    return request, timeline.json["items"]


def test_an_event_delivered_twice_is_applied_once(harness):
    s = setup_service(harness)
    rid = to_state(harness, s, "in_service")
    handle = harness.platform.consumers["requests"]
    before, _ = read(harness, s, rid)
    doc = followup(rid).model_dump(mode="json")
    handle(doc)
    handle(doc)
    deliver(harness, followup(rid).model_copy(update={"id": doc["id"]}))
    harness.drain()
    after, items = read(harness, s, rid)
    assert [e["type"] for e in items].count("FollowupPosted") == 1
    assert after["version"] == before["version"] + 1
    assert after["last_activity_at"] == "2030-01-01T12:00:00.000000+00:00"


def test_other_contexts_events_land_on_the_timeline(harness):
    s = setup_service(harness)
    rid = to_state(harness, s, "concluded")
    events = [
        followup(rid, T0),
        meeting(m.MeetingScheduled, rid, T0 + timedelta(minutes=1)),
        meeting(m.MeetingRescheduled, rid, T0 + timedelta(minutes=2),
                previous_starts_at=T0),
        meeting(m.GuestInvited, rid, T0 + timedelta(minutes=3),
                guest=m.Party(sub="g", name="Gui", email="gui@example.com")),
        meeting(m.MeetingJoined, rid, T0 + timedelta(minutes=4), participant=ANA,
                role="citizen"),
        meeting(m.MeetingCanceled, rid, T0 + timedelta(minutes=5), reason="Imprevisto"),
        m.ReviewSubmitted(request_id=rid, occurred_at=T0 + timedelta(minutes=6),
                          review_id="rv1", service_id=s.service_id, verdict="approved",
                          rating=5, citizen=ANA, assignee=BRUNO),
        m.ReviewModerated(request_id=rid, occurred_at=T0 + timedelta(minutes=7),
                          review_id="rv1", decision="approve", citizen=ANA, actor=BRUNO),
    ]
    for event in reversed(events):  # out of order: the timeline sorts, the latest wins
        deliver(harness, event)
    harness.drain()
    request, items = read(harness, s, rid)
    assert [e["type"] for e in items][-8:] == [e.type for e in events]
    assert request["citizen_verdict"] == "approved"
    assert request["last_activity_at"] == "2030-01-01T12:07:00.000000+00:00"
    by_type = {e["type"]: e for e in items}
    assert by_type["FollowupPosted"]["actor"] == {"sub": "ana", "name": "Ana Cidadã"}
    assert by_type["FollowupPosted"]["data"] == {"followup_id": "f1", "author_role": "citizen",
                                                 "attachments": 1}
    assert by_type["GuestInvited"]["data"]["guest"] == "Gui"
    assert "gui@example.com" not in str(items) and "Imprevisto" not in str(items)
    assert by_type["ReviewSubmitted"]["data"]["verdict"] == "approved"
    panel = harness.client.simulate_get("/requests", headers=s.h("assignee")).json["items"]
    assert panel[0]["citizen_verdict"] == "approved"
    assert harness.dead_letters == []


def test_an_event_for_an_unknown_request_is_ignored(harness):
    deliver(harness, followup("no-such-request"))
    harness.drain()
    assert harness.dead_letters == []


def test_events_it_does_not_consume_are_skipped(harness):
    handle = harness.platform.consumers["requests"]
    handle(m.MeetingReminderDue(request_id="r", meeting_id="m", subject="s", starts_at=T0,
                                ends_at=T0, actor=BRUNO).model_dump(mode="json"))
    assert harness.table("requests").query("APPLIED").items == []


def test_published_events_carry_the_snapshot_and_actor(harness):
    from services.requests import handlers
    from services.requests.schemas import RequestIn
    from shared.outbox import UnitOfWork

    s = setup_service(harness)
    ctx = harness.platform.contexts["requests"]
    citizen = ctx.verifier.verify(s.tokens["citizen"])
    uow = UnitOfWork(ctx.table, None, ctx.clock, ctx.topology)
    out = handlers.submit(uow, citizen, RequestIn(service_id=s.service_id, answers={
        "nome": "Ana", "cpf": "52998224725"}), ctx.clock)
    uow.commit()
    submitted = uow.events[0]
    assert submitted.type == "RequestSubmitted" and submitted.request.version == 1
    assert submitted.request.citizen.email == "ana@example.com"
    assert (submitted.request.org, submitted.request.unit) == (s.org, s.unit)
    harness.client.simulate_post(f"/requests/{out.id}/analysis", headers=s.h("analyst"))
    analyst = ctx.verifier.verify(s.tokens["analyst"])
    uow = UnitOfWork(ctx.table, None, ctx.clock, ctx.topology)
    handlers.approve(uow, analyst, out.id, s.subs["assignee"], ANY, ctx.clock)
    uow.commit()
    approved = uow.events[0]
    assert approved.type == "RequestApproved" and approved.request.version == 3
    assert approved.request.assignee.email == "bruno@example.gov.br"
    assert approved.request.analyst.name == "Alice Analista"
    assert approved.actor.sub == s.subs["analyst"]


def _stored_panel_row_matches_the_request(table, rid: str) -> dict:
    doc = table.get(f"REQ#{rid}", "REQ")
    del doc["pk"], doc["sk"]
    row = table.get(f"REQ#{rid}", "PANEL")
    assert row == store.panel_row(Request.from_doc(doc))
    return row


def test_an_activity_writes_the_request_its_entry_and_marker_not_the_panel_row(
        harness, monkeypatch):
    """Another service's event changes nothing the panel row shows: the row is left as it
    is (and still matches the request); a verdict, which it shows, rewrites it."""
    s = setup_service(harness)
    rid = to_state(harness, s, "in_service")
    table = harness.platform.contexts["requests"].table
    before = _stored_panel_row_matches_the_request(table, rid)
    written: list[list[str]] = []
    real = table.transact

    def spy(writes: list[Any], **kw: Any) -> Any:
        # The relay's own records (from its thread, every 50 ms) may land in between:
        # only the transactions that write a request are the consumer's.
        puts = [w for w in writes if isinstance(w, Put)]
        if any(w.item["pk"].startswith("REQ#") for w in puts):
            written.append([w.item["sk"].split("#")[0] for w in puts])
        return real(writes, **kw)

    monkeypatch.setattr(table, "transact", spy)
    assert harness.platform.consumers["requests"](followup(rid).model_dump(mode="json"))
    assert written == [["REQ", "TL", "requests"]]
    assert _stored_panel_row_matches_the_request(table, rid) == before

    done = to_state(harness, s, "concluded")
    written.clear()
    verdict = m.ReviewSubmitted(request_id=done, occurred_at=T0, review_id="r1",
                                service_id=s.service_id, citizen=ANA, verdict="approved",
                                rating=5)
    assert harness.platform.consumers["requests"](verdict.model_dump(mode="json"))
    assert written == [["REQ", "PANEL", "TL", "requests"]]
    row = _stored_panel_row_matches_the_request(table, done)
    assert row["view"]["citizen_verdict"] == "approved"
