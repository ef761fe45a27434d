"""Item 2 of the audit: an attendant acts and reads only while an enabled roster entry of
their org and unit exists, in every service (403 ``attendant_not_enabled``). The roster is
kept here and reaches the other services as events, so every test drains before calling
them."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from infra import cli
from shared.messages import Party, RosterChanged
from shared.tables import Delete
from tests.helpers import Setup, approve, conclude, setup_service, submit

NOT_ENABLED = "attendant_not_enabled"


def _enrol(h: Any, s: Setup, sub: str, *, enabled: bool, unit: str | None = None) -> None:
    r = h.client.simulate_put(f"/attendants/{sub}", headers=s.h("registrar"), json={
        "name": sub.title(), "unit": unit or s.unit, "enabled": enabled})
    assert r.status_code == 200, r.text


def _refused(r: Any) -> bool:
    return (r.status_code == 403 and r.headers["content-type"] == "application/problem+json"
            and r.json["code"] == NOT_ENABLED)


def _calls(rid: str, review_id: str) -> list[tuple[str, str, dict[str, Any] | None]]:
    """A read and a command of each service, as the audit found a disabled attendant
    doing them."""
    later = (datetime.now(UTC) + timedelta(days=2)).replace(microsecond=0).isoformat()
    return [
        ("GET", "/requests", None),
        ("GET", f"/requests/{rid}", None),
        ("GET", f"/requests/{rid}/timeline", None),
        ("GET", "/attendants", None),
        ("GET", f"/requests/{rid}/followups", None),
        ("POST", f"/requests/{rid}/followups", {"body": "Olá."}),
        ("GET", "/notifications", None),
        ("GET", f"/requests/{rid}/meetings", None),
        ("POST", f"/requests/{rid}/meetings", {"starts_at": later, "subject": "Conversa"}),
        ("GET", "/reviews", None),
        ("POST", f"/reviews/{review_id}/moderation", {"decision": "approve"}),
    ]


def _world(h: Any) -> tuple[Setup, str, str]:
    """A request in service with the assignee, and a concluded one with a review."""
    s = setup_service(h)
    rid = submit(h, s)
    approve(h, s, rid)
    done = submit(h, s)
    approve(h, s, done)
    conclude(h, s, done)
    h.drain()
    r = h.client.simulate_post(f"/requests/{done}/review", headers=s.h("citizen"),
                               json={"verdict": "approved", "comment": "Muito bom."})
    assert r.status_code == 201, r.text
    h.drain()
    return s, rid, r.json["id"]


def test_disabled_attendant_cannot_read_panel_details_nor_act_in_any_service(harness):
    h = harness
    s, rid, review_id = _world(h)
    calls = _calls(rid, review_id)
    # Enabled, the assignee does all of it.
    for method, path, body in calls:
        r = h.client.simulate_request(method, path, headers=s.h("assignee"), json=body)
        assert r.status_code < 400, (method, path, r.text)
    _enrol(h, s, s.subs["assignee"], enabled=False)
    h.drain()  # the other services learn it
    for method, path, body in calls:
        r = h.client.simulate_request(method, path, headers=s.h("assignee"), json=body)
        assert _refused(r), (method, path, r.status_code, r.text)
    # Enabled again: back to work everywhere.
    _enrol(h, s, s.subs["assignee"], enabled=True)
    h.drain()
    for method, path, _ in calls:
        if method == "GET":
            r = h.client.simulate_request(method, path, headers=s.h("assignee"))
            assert r.status_code == 200, (path, r.text)


def test_never_enrolled_attendant_is_refused_in_every_service(harness):
    h = harness
    s, rid, review_id = _world(h)
    nemo = h.auth(h.token("nemo", "attendant", org=s.org, unit=s.unit, name="Nemo"))
    for method, path, body in _calls(rid, review_id):
        r = h.client.simulate_request(method, path, headers=nemo, json=body)
        assert _refused(r), (method, path, r.status_code, r.text)


def test_an_entry_of_another_unit_does_not_enable_the_token_unit(harness):
    h = harness
    s, rid, review_id = _world(h)
    _enrol(h, s, "ulisses", enabled=True, unit="obras")
    h.drain()
    wrong_unit = h.auth(h.token("ulisses", "attendant", org=s.org, unit=s.unit))
    for method, path, body in _calls(rid, review_id):
        r = h.client.simulate_request(method, path, headers=wrong_unit, json=body)
        assert _refused(r), (method, path, r.status_code)


def test_not_enabled_is_answered_before_any_lookup_so_it_tells_nothing(harness):
    """The same 403 for a request that exists and one that does not: the answer depends on
    the caller alone (a request one may not see is still 404 for everyone else)."""
    h = harness
    s, rid, _ = _world(h)
    nemo = h.auth(h.token("nemo", "attendant", org=s.org, unit=s.unit))
    for path in (f"/requests/{rid}", "/requests/nope", f"/requests/{rid}/followups",
                 "/requests/nope/followups", "/requests/nope/meetings"):
        r = h.client.simulate_get(path, headers=nemo)
        assert _refused(r), path
        assert rid not in r.text
    r = h.client.simulate_get("/requests/nope", headers=s.h("outsider"))
    assert r.status_code == 404


def test_a_registrar_is_not_subject_to_the_roster(harness):
    h = harness
    s, rid, review_id = _world(h)
    # A registrar who also carries the attendant role, never enrolled: a registrar still.
    both = h.auth(h.token("rosa", "registrar", "attendant", org=s.org, unit=s.unit))
    for path in ("/requests", f"/requests/{rid}", f"/requests/{rid}/followups",
                 f"/requests/{rid}/meetings", "/reviews", "/attendants"):
        assert h.client.simulate_get(path, headers=both).status_code == 200, path
    # ...but does no attendant's work.
    r = h.client.simulate_post(f"/reviews/{review_id}/moderation", headers=both,
                               json={"decision": "approve"})
    assert r.status_code == 403 and r.json["code"] == "forbidden"


def test_a_citizen_who_is_a_disabled_attendant_still_acts_as_a_citizen(harness):
    h = harness
    s = setup_service(h)
    _enrol(h, s, "cida", enabled=False)
    cida = h.auth(h.token("cida", "citizen", "attendant", org=s.org, unit=s.unit,
                          name="Cida"))
    r = h.client.simulate_post("/requests", headers=cida, json={
        "service_id": s.service_id, "answers": {"nome": "Cida", "cpf": "529.982.247-25"}})
    assert r.status_code == 201, r.text
    mine, theirs = r.json["id"], submit(h, s)
    panel = h.client.simulate_get("/requests", headers=cida).json["items"]
    assert [i["id"] for i in panel] == [mine]  # a citizen's panel, not the unit's
    assert h.client.simulate_get(f"/requests/{theirs}", headers=cida).status_code == 404


def test_the_roster_reaches_every_service_and_a_late_or_repeated_copy_changes_nothing(
        harness):
    h = harness
    s = setup_service(h)
    _enrol(h, s, "vera", enabled=True)
    _enrol(h, s, "vera", enabled=False)
    h.drain()
    source = h.table("requests").get(f"ROSTER#{s.org}", "vera")
    assert source is not None and source["enabled"] is False
    for service in ("followups", "meetings", "reviews"):
        copy = h.table(service).get(f"ROSTER#{s.org}", "vera")
        assert copy is not None, service
        assert (copy["enabled"], copy["unit"], copy["version"]) == (
            False, s.unit, source["version"]), service
    # An older copy arriving late, then again: applied once, changing nothing.
    older = RosterChanged(attendant=Party(sub="vera", name="Vera"), org=s.org, unit=s.unit,
                          enabled=True, version=source["version"] - 1)
    consume = h.platform.consumers["followups"]
    assert consume(older.model_dump(mode="json")) is True  # applied: a no-op
    assert consume(older.model_dump(mode="json")) is False  # seen: skipped
    assert h.table("followups").get(f"ROSTER#{s.org}", "vera")["enabled"] is False


def test_ops_reproject_roster_fills_the_copies_a_store_from_before_lacks(
        harness, capsys, monkeypatch):
    h = harness
    s, rid, _ = _world(h)
    # As before the copies existed: the followups service has none.
    followups = h.table("followups")
    copies = followups.query(f"ROSTER#{s.org}", limit=100).items
    assert len(copies) == 3
    followups.transact([Delete(c["pk"], c["sk"]) for c in copies])
    r = h.client.simulate_get(f"/requests/{rid}/followups", headers=s.h("assignee"))
    assert _refused(r)
    data_dir = str(h.platform.settings.data_dir)
    monkeypatch.setenv("ATENDE_DATA_DIR", data_dir)
    assert cli.main(["ops", "reproject", "roster", "--data-dir", data_dir]) == 0
    report = {d["service"]: d for d in map(json.loads, capsys.readouterr().out.splitlines())}
    assert report == {
        "followups": {"service": "followups", "entries": 3, "written": 3, "unchanged": 0},
        "meetings": {"service": "meetings", "entries": 3, "written": 0, "unchanged": 3},
        "reviews": {"service": "reviews", "entries": 3, "written": 0, "unchanged": 3}}
    r = h.client.simulate_get(f"/requests/{rid}/followups", headers=s.h("assignee"))
    assert r.status_code == 200, r.text
