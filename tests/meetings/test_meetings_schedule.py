"""Scheduling, changing, cancelling and listing meetings: every input rule, who may do it,
and time zones."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from shared.clock import FrozenClock
from shared.ids import new_id
from shared.messages import MeetingCanceled, MeetingRescheduled, MeetingScheduled
from tests.meetings.meetings_support import (
    CITIZEN,
    analysis,
    at,
    concluded,
    feed,
    frozen,
    in_service,
    post,
    record_events,
    rows,
    schedule,
    submitted,
    token,
)


@pytest.fixture
def clock() -> FrozenClock:
    return frozen()


def _rid(h: Any) -> str:
    return in_service(h, new_id())


def test_schedule_returns_the_meeting_with_defaults(harness: Any, clock: FrozenClock,
                                                    monkeypatch: Any) -> None:
    events = record_events(monkeypatch)
    rid = _rid(harness)
    m = schedule(harness, rid, at(clock, days=1))
    start = clock.now() + timedelta(days=1)
    assert m["request_id"] == rid and m["status"] == "scheduled"
    assert m["subject"] == "Conferir documentos" and m["duration_minutes"] == 60
    assert datetime.fromisoformat(m["starts_at"]) == start
    assert datetime.fromisoformat(m["ends_at"]) == start + timedelta(minutes=60)
    assert m["guests"] == [] and m["created_by"] == {"sub": "beatriz",
                                                     "name": "Beatriz Atendente"}
    assert "room" not in m  # the room is handed out only on join
    [event] = [e for e in events if isinstance(e, MeetingScheduled)]
    assert event.meeting_id == m["id"] and event.citizen == CITIZEN
    assert event.attendant is not None and event.attendant.sub == "beatriz"


def test_offset_is_kept_as_the_same_instant_in_utc(harness: Any, clock: FrozenClock) -> None:
    rid = _rid(harness)
    local = (clock.now() + timedelta(days=2)).astimezone(timezone(timedelta(hours=-3)))
    m = schedule(harness, rid, local.isoformat(), duration_minutes=45)
    starts = datetime.fromisoformat(m["starts_at"])
    assert starts == local and starts.utcoffset() == timedelta(0)
    assert m["starts_at"].endswith(("Z", "+00:00"))
    r = harness.client.simulate_get(f"/requests/{rid}/meetings", headers=token(harness, "citizen"))
    assert datetime.fromisoformat(r.json["items"][0]["starts_at"]) == local
    assert r.json["items"][0]["ends_at"] == m["ends_at"]


@pytest.mark.parametrize(("body", "field"), [
    ({"starts_at": "2099-01-01T10:00:00"}, "starts_at"),            # no offset
    ({"starts_at": "amanhã"}, "starts_at"),
    ({"starts_at": 4102444800}, "starts_at"),                       # not ISO text
    ({"duration_minutes": 14}, "duration_minutes"),
    ({"duration_minutes": 241}, "duration_minutes"),
    ({"duration_minutes": "60"}, "duration_minutes"),
    ({"subject": ""}, "subject"),
    ({"subject": "   "}, "subject"),
    ({"subject": "x" * 201}, "subject"),
    ({"room": "minha-sala"}, "room"),                               # unknown field
])
def test_bad_input_is_422_and_stores_nothing(harness: Any, clock: FrozenClock,
                                             body: dict[str, Any], field: str) -> None:
    rid = _rid(harness)
    before = rows(harness)
    full = {"starts_at": at(clock, days=1), "subject": "Assunto", **body}
    r = post(harness, f"/requests/{rid}/meetings", full, status=422)
    assert r.json["code"] == "validation"
    assert any(e["field"].startswith(field) for e in r.json["errors"])
    assert rows(harness) == before


@pytest.mark.parametrize("delta", [{"minutes": 0}, {"minutes": -1}, {"days": -3}])
def test_start_must_be_in_the_future(harness: Any, clock: FrozenClock,
                                     delta: dict[str, float]) -> None:
    rid = _rid(harness)
    before = rows(harness)
    r = post(harness, f"/requests/{rid}/meetings",
             {"starts_at": at(clock, **delta), "subject": "Assunto"}, status=422)
    assert r.json["errors"][0]["field"] == "starts_at"
    assert rows(harness) == before


def test_boundaries_of_duration_and_subject_are_accepted(harness: Any,
                                                         clock: FrozenClock) -> None:
    rid = _rid(harness)
    a = schedule(harness, rid, at(clock, hours=1), duration_minutes=15, subject="x")
    b = schedule(harness, rid, at(clock, hours=2), duration_minutes=240, subject="y" * 200)
    assert (a["duration_minutes"], b["duration_minutes"]) == (15, 240)


def test_body_must_be_json(harness: Any, clock: FrozenClock) -> None:
    rid = _rid(harness)
    r = harness.client.simulate_post(f"/requests/{rid}/meetings", body="starts_at=x",
                                     headers={**token(harness, "assignee"),
                                              "Content-Type": "text/plain"})
    assert r.status_code == 415
    r = harness.client.simulate_post(f"/requests/{rid}/meetings", body="{",
                                     headers={**token(harness, "assignee"),
                                              "Content-Type": "application/json"})
    assert r.status_code == 400


def test_no_token_is_401(harness: Any, clock: FrozenClock) -> None:
    rid = _rid(harness)
    r = post(harness, f"/requests/{rid}/meetings", {"starts_at": at(clock, days=1),
                                                    "subject": "x"}, who=None)
    assert r.status_code == 401


@pytest.mark.parametrize(("who", "status"), [
    ("citizen", 403), ("colleague", 403), ("registrar", 403), ("analyst", 403),
    ("other_citizen", 404), ("other_unit", 404), ("other_org", 404),
])
def test_only_the_assignee_schedules(harness: Any, clock: FrozenClock, who: str,
                                     status: int) -> None:
    rid = _rid(harness)
    r = post(harness, f"/requests/{rid}/meetings",
             {"starts_at": at(clock, days=1), "subject": "x"}, who=who, status=status)
    assert r.json["code"] == {403: "forbidden", 404: "not_found"}[status]


def test_unknown_request_is_404(harness: Any, clock: FrozenClock) -> None:
    post(harness, f"/requests/{new_id()}/meetings",
         {"starts_at": at(clock, days=1), "subject": "x"}, status=404)
    r = harness.client.simulate_get(f"/requests/{new_id()}/meetings",
                                    headers=token(harness, "assignee"))
    assert r.status_code == 404


@pytest.mark.parametrize("events", [
    lambda rid: [submitted(rid)],
    lambda rid: [submitted(rid), analysis(rid)],
    lambda rid: [concluded(rid)],
])
def test_request_not_in_service_is_409(harness: Any, clock: FrozenClock, events: Any) -> None:
    rid = new_id()
    feed(harness, *events(rid))
    r = post(harness, f"/requests/{rid}/meetings",
             {"starts_at": at(clock, days=1), "subject": "x"}, who="analyst", status=409)
    assert r.json["code"] == "invalid_transition"


def test_listing_follows_who_may_see_the_request(harness: Any, clock: FrozenClock) -> None:
    rid = _rid(harness)
    first = schedule(harness, rid, at(clock, days=2))
    second = schedule(harness, rid, at(clock, days=1))
    url = f"/requests/{rid}/meetings"
    for who in ("assignee", "citizen", "colleague", "registrar", "analyst"):
        r = harness.client.simulate_get(url, headers=token(harness, who))
        assert r.status_code == 200, who
        assert [m["id"] for m in r.json["items"]] == [first["id"], second["id"]]
    for who in ("other_citizen", "other_unit", "other_org"):
        r = harness.client.simulate_get(url, headers=token(harness, who))
        assert r.status_code == 404, who
    r = harness.client.simulate_get(url, params={"limit": "1"},
                                    headers=token(harness, "citizen"))
    assert len(r.json["items"]) == 1 and r.json["next_cursor"]
    r = harness.client.simulate_get(url, params={"limit": "1", "cursor": r.json["next_cursor"]},
                                    headers=token(harness, "citizen"))
    assert [m["id"] for m in r.json["items"]] == [second["id"]] and not r.json["next_cursor"]
    for bad in ({"limit": "0"}, {"limit": "101"}, {"cursor": "nonsense!"}):
        r = harness.client.simulate_get(url, params=bad, headers=token(harness, "citizen"))
        assert r.status_code == 422, bad


def test_reschedule_and_change_subject(harness: Any, clock: FrozenClock,
                                       monkeypatch: Any) -> None:
    events = record_events(monkeypatch)
    rid = _rid(harness)
    m = schedule(harness, rid, at(clock, days=1))
    url = f"/requests/{rid}/meetings/{m['id']}"
    new_start = (clock.now() + timedelta(days=3)).astimezone(timezone(timedelta(hours=-3)))
    r = harness.client.simulate_patch(url, json={"starts_at": new_start.isoformat(),
                                                 "duration_minutes": 30},
                                      headers=token(harness, "assignee"))
    assert r.status_code == 200, r.text
    assert datetime.fromisoformat(r.json["starts_at"]) == new_start
    assert datetime.fromisoformat(r.json["ends_at"]) == new_start + timedelta(minutes=30)
    [moved] = [e for e in events if isinstance(e, MeetingRescheduled)]
    assert moved.previous_starts_at == clock.now() + timedelta(days=1)
    assert moved.starts_at == new_start
    r = harness.client.simulate_patch(url, json={"subject": "Novo assunto"},
                                      headers=token(harness, "assignee"))
    assert r.status_code == 200 and r.json["subject"] == "Novo assunto"
    assert datetime.fromisoformat(r.json["starts_at"]) == new_start
    assert len([e for e in events if isinstance(e, MeetingRescheduled)]) == 1


@pytest.mark.parametrize(("body", "status"), [
    ({}, 422), ({"starts_at": "2099-01-01T10:00:00"}, 422), ({"subject": ""}, 422),
    ({"duration_minutes": 300}, 422), ({"status": "canceled"}, 422),
    ({"starts_at": "PAST"}, 422),
])
def test_patch_rejects_bad_input(harness: Any, clock: FrozenClock, body: dict[str, Any],
                                 status: int) -> None:
    rid = _rid(harness)
    m = schedule(harness, rid, at(clock, days=1))
    if body.get("starts_at") == "PAST":
        body = {"starts_at": at(clock, minutes=-5)}
    r = harness.client.simulate_patch(f"/requests/{rid}/meetings/{m['id']}", json=body,
                                      headers=token(harness, "assignee"))
    assert r.status_code == status, r.text


def test_patch_and_cancel_permissions(harness: Any, clock: FrozenClock) -> None:
    rid = _rid(harness)
    m = schedule(harness, rid, at(clock, days=1))
    url = f"/requests/{rid}/meetings/{m['id']}"
    for who, status in (("citizen", 403), ("colleague", 403), ("other_citizen", 404)):
        r = harness.client.simulate_patch(url, json={"subject": "x"}, headers=token(harness, who))
        assert r.status_code == status, who
        post(harness, f"{url}/cancellation", {}, who=who, status=status)
    r = harness.client.simulate_patch(f"/requests/{rid}/meetings/{new_id()}",
                                      json={"subject": "x"}, headers=token(harness, "assignee"))
    assert r.status_code == 404
    other = _rid(harness)  # a meeting id under another request is not found there
    r = harness.client.simulate_patch(f"/requests/{other}/meetings/{m['id']}",
                                      json={"subject": "x"}, headers=token(harness, "assignee"))
    assert r.status_code == 404


def test_cancel_then_nothing_more(harness: Any, clock: FrozenClock, monkeypatch: Any) -> None:
    events = record_events(monkeypatch)
    rid = _rid(harness)
    m = schedule(harness, rid, at(clock, days=1))
    url = f"/requests/{rid}/meetings/{m['id']}"
    r = post(harness, f"{url}/cancellation", {"reason": "Cidadã pediu"}, status=200)
    assert r.json["status"] == "canceled"
    assert r.json["cancellation"]["reason"] == "Cidadã pediu"
    assert r.json["cancellation"]["by"]["sub"] == "beatriz"
    [event] = [e for e in events if isinstance(e, MeetingCanceled)]
    assert event.reason == "Cidadã pediu" and event.meeting_id == m["id"]
    r = post(harness, f"{url}/cancellation", None, status=409)
    assert r.json["code"] == "invalid_transition"
    r = harness.client.simulate_patch(url, json={"subject": "x"},
                                      headers=token(harness, "assignee"))
    assert r.status_code == 409
    post(harness, f"{url}/guests", {"name": "Gil", "email": "gil@example.com"}, status=409)


def test_cancel_without_a_body(harness: Any, clock: FrozenClock) -> None:
    rid = _rid(harness)
    m = schedule(harness, rid, at(clock, days=1))
    r = harness.client.simulate_post(f"/requests/{rid}/meetings/{m['id']}/cancellation",
                                     headers=token(harness, "assignee"))
    assert r.status_code == 200, r.text
    assert r.json["cancellation"]["reason"] is None


def test_ended_or_started_meetings_cannot_move(harness: Any, clock: FrozenClock) -> None:
    rid = _rid(harness)
    m = schedule(harness, rid, at(clock, hours=1), duration_minutes=30)
    url = f"/requests/{rid}/meetings/{m['id']}"
    clock.advance(minutes=70)  # started 10 minutes ago
    r = harness.client.simulate_patch(url, json={"starts_at": at(clock, days=1)},
                                      headers=token(harness, "assignee"))
    assert r.status_code == 409
    r = harness.client.simulate_patch(url, json={"subject": "Ainda dá"},
                                      headers=token(harness, "assignee"))
    assert r.status_code == 200
    clock.advance(minutes=30)  # ended
    r = harness.client.simulate_patch(url, json={"subject": "Tarde"},
                                      headers=token(harness, "assignee"))
    assert r.status_code == 409
    post(harness, f"{url}/cancellation", {}, status=409)


def test_idempotency_key_replays_the_schedule(harness: Any, clock: FrozenClock) -> None:
    rid = _rid(harness)
    body = {"starts_at": at(clock, days=1), "subject": "Uma vez"}
    headers = {**token(harness, "assignee"), "Idempotency-Key": "agenda-1"}
    url = f"/requests/{rid}/meetings"
    first = harness.client.simulate_post(url, json=body, headers=headers)
    again = harness.client.simulate_post(url, json=body, headers=headers)
    assert first.status_code == again.status_code == 201
    assert first.json == again.json
    r = harness.client.simulate_get(url, headers=token(harness, "assignee"))
    assert len(r.json["items"]) == 1
    other = harness.client.simulate_post(url, json={**body, "subject": "Outra"}, headers=headers)
    assert other.status_code == 409 and other.json["code"] == "idempotency_key_reused"


def test_times_are_compared_as_instants(harness: Any) -> None:
    # A UTC and a -03:00 spelling of one instant are the same meeting time.
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(days=5)
    brt = start.astimezone(timezone(timedelta(hours=-3)))
    rid = _rid(harness)
    a = schedule(harness, rid, start.isoformat())
    b = schedule(harness, _rid(harness), brt.isoformat(), status=409)  # same attendant
    assert datetime.fromisoformat(a["starts_at"]) == brt
    assert b["code"] == "conflict"
