"""POST /requests/{id}/reassignment: the registrar of the org, or the current assignee,
hands a request in service to another enabled attendant of its unit, so that a request
whose assignee was disabled can still be concluded. Both attendants and the citizen are
told, and every service learns who the assignee is now."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.helpers import Setup, approve, idem, setup_service, stored, submit, to_state

REASON = "Atendente afastada por licença."


def _reassign(h: Any, s: Setup, rid: str, who: str, assignee: str,
              reason: str = REASON, **headers: str) -> Any:
    return h.client.simulate_post(f"/requests/{rid}/reassignment",
                                  headers=s.h(who, **headers),
                                  json={"assignee": assignee, "reason": reason})


def _enrol(h: Any, s: Setup, sub: str, name: str, *, enabled: bool = True,
           unit: str | None = None) -> None:
    r = h.client.simulate_put(f"/attendants/{sub}", headers=s.h("registrar"), json={
        "name": name, "email": f"{sub}@example.gov.br", "unit": unit or s.unit,
        "enabled": enabled})
    assert r.status_code == 200, r.text


def _inbox(h: Any, token: str) -> list[dict[str, Any]]:
    r = h.client.simulate_get("/notifications", headers=h.auth(token))
    assert r.status_code == 200, r.text
    return r.json["items"]


def test_a_request_whose_assignee_was_disabled_is_reassigned_and_concluded(harness):
    h = harness
    s = setup_service(h)
    rid = submit(h, s)
    approve(h, s, rid)  # Bruno attends it
    _enrol(h, s, s.subs["assignee"], "Bruno Atendente", enabled=False)
    r = h.client.simulate_post(f"/requests/{rid}/conclusion", headers=s.h("assignee"),
                               json={"summary": "Feito."})
    assert r.status_code == 403 and r.json["code"] == "attendant_not_enabled"
    # Bruno cannot hand it over any more; the registrar can.
    r = _reassign(h, s, rid, "assignee", s.subs["analyst"])
    assert r.status_code == 403 and r.json["code"] == "attendant_not_enabled"
    r = _reassign(h, s, rid, "registrar", s.subs["analyst"])
    assert r.status_code == 200, r.text
    assert r.json["assignee"]["sub"] == s.subs["analyst"]
    assert r.json["status"] == "in_service"
    assert r.headers["etag"] == f'"{r.json["version"]}"'
    r = h.client.simulate_post(f"/requests/{rid}/conclusion", headers=s.h("analyst"),
                               json={"summary": "Feito pela Alice."})
    assert r.status_code == 200 and r.json["status"] == "concluded"
    timeline = h.client.simulate_get(f"/requests/{rid}/timeline", headers=s.h("citizen"))
    entry = next(e for e in timeline.json["items"] if e["type"] == "RequestReassigned")
    assert entry["actor"]["name"] == "Regina Registro"
    assert entry["data"]["assignee"] == {"name": "Alice Analista", "role": "attendant"}
    assert entry["data"]["previous"] == {"name": "Bruno Atendente", "role": "attendant"}
    assert "sub" not in entry["actor"]  # a citizen reads staff by name, never by sub
    assert entry["data"]["reason"] == REASON


def test_the_assignee_hands_over_and_both_attendants_and_the_citizen_are_told(harness):
    h = harness
    s = setup_service(h)
    rid = submit(h, s)
    approve(h, s, rid)
    h.drain()
    before = {who: len(_inbox(h, s.tokens[who])) for who in ("citizen", "analyst", "assignee")}
    r = _reassign(h, s, rid, "assignee", s.subs["analyst"])
    assert r.status_code == 200, r.text
    h.drain()
    kinds = {}
    for who in ("citizen", "analyst", "assignee"):
        items = _inbox(h, s.tokens[who])
        assert len(items) == before[who] + 1, who
        kinds[who] = items[0]["kind"]
        assert items[0]["request_id"] == rid
    assert kinds == {"citizen": "request_reassigned", "analyst": "request_assigned",
                     "assignee": "request_unassigned"}
    told = _inbox(h, s.tokens["assignee"])[0]
    assert "Alice Analista" in told["body"] and REASON in told["body"]
    assert "Alice Analista" in _inbox(h, s.tokens["citizen"])[0]["body"]
    # The right to post follow-ups moved with it.
    url = f"/requests/{rid}/followups"
    r = h.client.simulate_post(url, headers=s.h("assignee"), json={"body": "Ainda aqui?"})
    assert r.status_code == 403
    r = h.client.simulate_post(url, headers=s.h("analyst"), json={"body": "Assumi o caso."})
    assert r.status_code == 201, r.text


def test_pending_meetings_of_the_previous_assignee_are_cancelled_and_the_new_one_schedules(
        harness):
    h = harness
    s = setup_service(h)
    rid = submit(h, s)
    approve(h, s, rid)
    h.drain()
    url = f"/requests/{rid}/meetings"
    at = (datetime.now(UTC) + timedelta(days=1)).replace(microsecond=0).isoformat()
    r = h.client.simulate_post(url, headers=s.h("assignee"),
                               json={"starts_at": at, "subject": "Conversa"})
    assert r.status_code == 201, r.text
    mid = r.json["id"]
    assert _reassign(h, s, rid, "registrar", s.subs["analyst"]).status_code == 200
    h.drain()
    meetings = h.client.simulate_get(url, headers=s.h("citizen")).json["items"]
    assert [(m["id"], m["status"]) for m in meetings] == [(mid, "canceled")]
    r = h.client.simulate_post(url, headers=s.h("assignee"),
                               json={"starts_at": at, "subject": "De novo"})
    assert r.status_code == 403
    r = h.client.simulate_post(url, headers=s.h("analyst"),
                               json={"starts_at": at, "subject": "Com a Alice"})
    assert r.status_code == 201, r.text  # the old slot was freed, the new calendar is free


def test_the_review_goes_to_the_new_assignee(harness):
    h = harness
    s = setup_service(h)
    rid = submit(h, s)
    approve(h, s, rid)
    assert _reassign(h, s, rid, "registrar", s.subs["analyst"]).status_code == 200
    r = h.client.simulate_post(f"/requests/{rid}/conclusion", headers=s.h("analyst"),
                               json={"summary": "Feito."})
    assert r.status_code == 200
    h.drain()
    r = h.client.simulate_post(f"/requests/{rid}/review", headers=s.h("citizen"),
                               json={"verdict": "approved", "rating": 5})
    assert r.status_code == 201, r.text
    h.drain()
    assert _inbox(h, s.tokens["analyst"])[0]["kind"] == "citizen_verdict"
    assert all(n["kind"] != "citizen_verdict" for n in _inbox(h, s.tokens["assignee"]))


@pytest.mark.parametrize("state", ["submitted", "in_analysis", "rejected", "concluded"])
def test_only_a_request_in_service_is_reassigned(harness, state):
    h = harness
    s = setup_service(h)
    rid = to_state(h, s, state)
    r = _reassign(h, s, rid, "registrar", s.subs["analyst"])
    assert r.status_code == 409 and r.json["code"] == "invalid_transition"


def test_who_may_reassign(harness):
    h = harness
    s = setup_service(h)
    rid = submit(h, s)
    approve(h, s, rid)
    other_org = h.auth(h.token("reg9", "registrar", org="outra-org"))
    r = h.client.simulate_post(f"/requests/{rid}/reassignment", headers=other_org,
                               json={"assignee": s.subs["analyst"], "reason": REASON})
    assert r.status_code == 404
    for who, status in (("citizen", 403), ("analyst", 403), ("other_citizen", 404),
                        ("outsider", 404)):
        r = _reassign(h, s, rid, who, s.subs["analyst"])
        assert r.status_code == status, (who, r.text)
    assert h.client.simulate_get(f"/requests/{rid}", headers=s.h("registrar")
                                 ).json["assignee"]["sub"] == s.subs["assignee"]


def test_the_new_assignee_must_be_an_enabled_attendant_of_the_unit(harness):
    h = harness
    s = setup_service(h)
    rid = submit(h, s)
    approve(h, s, rid)
    _enrol(h, s, "dora", "Dora", enabled=False)
    before = stored(h)
    for sub in ("dora", "ninguem", s.subs["outsider"], s.subs["assignee"]):
        r = _reassign(h, s, rid, "registrar", sub)
        assert r.status_code == 422, (sub, r.text)
        assert r.json["errors"][0]["field"] == "assignee"
    for body in ({"assignee": s.subs["analyst"]}, {"assignee": s.subs["analyst"], "reason": " "},
                 {"assignee": "", "reason": REASON},
                 {"assignee": s.subs["analyst"], "reason": "x" * 2001},
                 {"assignee": s.subs["analyst"], "reason": REASON, "extra": 1}):
        r = h.client.simulate_post(f"/requests/{rid}/reassignment", headers=s.h("registrar"),
                                   json=body)
        assert r.status_code == 422, body
        assert r.headers["content-type"] == "application/problem+json"
    assert stored(h) == before


def test_a_repeat_with_the_same_idempotency_key_does_nothing_again(harness):
    h = harness
    s = setup_service(h)
    rid = submit(h, s)
    approve(h, s, rid)
    headers = idem({})
    first = _reassign(h, s, rid, "registrar", s.subs["analyst"], **headers)
    again = _reassign(h, s, rid, "registrar", s.subs["analyst"], **headers)
    assert first.status_code == again.status_code == 200
    assert again.json == first.json and again.headers.get("idempotent-replayed") == "true"
    r = h.client.simulate_post(f"/requests/{rid}/reassignment", headers=s.h(
        "registrar", **headers), json={"assignee": s.subs["assignee"], "reason": REASON})
    assert r.status_code == 409 and r.json["code"] == "idempotency_key_reused"
    stale = _reassign(h, s, rid, "registrar", s.subs["assignee"], **{"If-Match": '"1"'})
    assert stale.status_code == 412

