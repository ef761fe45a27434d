"""The panel: scopes, filters, newest first, cursor paging, overdue."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from shared.clock import FrozenClock
from tests.helpers import approve, conclude, reject, setup_service, submit


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(datetime(2026, 3, 2, 9, tzinfo=UTC))


def ids(r) -> list[str]:
    assert r.status_code == 200, r.text
    return [i["id"] for i in r.json["items"]]


def test_scopes_and_filters(harness, clock):
    s = setup_service(harness)
    other_unit = setup_service(harness, unit="educacao")
    c = harness.client
    made = []
    for who in ("citizen", "other_citizen", "citizen"):
        clock.advance(minutes=1)
        made.append(submit(harness, s, who=who))
    clock.advance(minutes=1)
    elsewhere = submit(harness, other_unit)
    a1, b1, a2 = made
    approve(harness, s, a1)
    reject(harness, s, b1)
    panel = lambda who, setup=s, **p: c.simulate_get("/requests", headers=setup.h(who),  # noqa: E731
                                                     params=p)
    assert ids(panel("citizen")) == [elsewhere, a2, a1]
    assert ids(panel("other_citizen")) == [b1]
    assert ids(panel("analyst")) == [a2, b1, a1]
    assert ids(panel("analyst", other_unit)) == [elsewhere]
    assert ids(panel("registrar")) == [elsewhere, a2, b1, a1]
    assert ids(panel("outsider")) == []
    assert ids(c.simulate_get("/requests", headers=harness.auth(
        harness.token("r9", "registrar", org="outra")))) == []
    assert c.simulate_get("/requests", headers=harness.auth(
        harness.token("x", "attendant"))).status_code == 403
    # Filters.
    assert ids(panel("analyst", status="submitted")) == [a2]
    assert ids(panel("analyst", status=["submitted", "rejected"])) == [a2, b1]
    assert ids(panel("analyst", status="submitted,in_service")) == [a2, a1]
    assert ids(panel("assignee", assignee="me")) == [a1]
    assert ids(panel("analyst", assignee="me")) == []
    assert ids(panel("analyst", assignee=s.subs["assignee"])) == [a1]
    assert ids(panel("registrar", assignee=s.subs["assignee"])) == [a1]
    assert ids(panel("citizen", assignee=s.subs["assignee"])) == [a1]
    assert ids(panel("registrar", service_id=other_unit.service_id)) == [elsewhere]
    item = panel("analyst", status="in_service").json["items"][0]
    assert set(item) == {"id", "service_id", "service_name", "citizen_name", "status",
                         "assignee", "citizen_verdict", "due_at", "created_at", "updated_at"}
    assert item["citizen_name"] == "Ana Cidadã"
    assert item["assignee"]["sub"] == s.subs["assignee"]


def test_overdue_is_past_due_and_still_open(harness, clock):
    s = setup_service(harness, deadline_days=2)
    late_open = submit(harness, s)
    late_done = submit(harness, s)
    late_rejected = submit(harness, s)
    approve(harness, s, late_done)
    conclude(harness, s, late_done)
    reject(harness, s, late_rejected)
    in_service = submit(harness, s)
    approve(harness, s, in_service)
    clock.advance(days=1)
    fresh = submit(harness, s)
    r = harness.client.simulate_get(f"/requests/{fresh}", headers=s.h("citizen"))
    assert r.json["due_at"] == "2026-03-05T09:00:00.000000+00:00"
    q = {"overdue": "true"}
    assert ids(harness.client.simulate_get("/requests", headers=s.h("analyst"), params=q)) == []
    clock.advance(days=1, seconds=1)
    r = harness.client.simulate_get("/requests", headers=s.h("analyst"), params=q)
    assert set(ids(r)) == {late_open, in_service}
    r = harness.client.simulate_get("/requests", headers=s.h("analyst"),
                                    params={**q, "status": "in_service"})
    assert ids(r) == [in_service]
    no_deadline = setup_service(harness, org="outra", deadline_days=None)
    rid = submit(harness, no_deadline)
    clock.advance(days=400)
    assert harness.client.simulate_get(f"/requests/{rid}", headers=s.h("citizen")
                                       ).json["due_at"] is None
    r = harness.client.simulate_get("/requests", headers=no_deadline.h("analyst"), params=q)
    assert ids(r) == []


def test_cursor_paging_newest_first(harness, clock):
    s = setup_service(harness)
    made = []
    for _ in range(7):
        clock.advance(seconds=1)
        made.append(submit(harness, s))
    seen, cursor, pages = [], None, 0
    while True:
        params = {"limit": "3", **({"cursor": cursor} if cursor else {})}
        r = harness.client.simulate_get("/requests", headers=s.h("analyst"), params=params)
        seen += ids(r)
        pages += 1
        cursor = r.json["next_cursor"]
        if cursor is None:
            break
    assert seen == list(reversed(made)) and pages == 3
    r = harness.client.simulate_get("/requests", headers=s.h("analyst"))
    assert len(r.json["items"]) == 7 and r.json["next_cursor"] is None


def test_items_are_exactly_the_panel_model(harness, clock):
    """The panel returns its stored rows as they are, without the model: they must still
    be exactly ``PanelPage``, with nothing more (no e-mail, no answers) and nothing less."""
    from services.requests.schemas import PanelItem, PanelPage

    s = setup_service(harness)
    rid = submit(harness, s)
    approve(harness, s, rid)
    for who in ("citizen", "analyst", "registrar"):
        r = harness.client.simulate_get("/requests", headers=s.h(who))
        assert r.status_code == 200, r.text
        page = PanelPage.model_validate(r.json, strict=True)
        assert [i.id for i in page.items] == [rid]
        assert set(r.json) == {"items", "next_cursor"}
        item = r.json["items"][0]
        assert set(item) == set(PanelItem.model_fields)
        # Staff see the assignee's sub; a citizen sees a name and a role (API.md).
        shown = {"name", "role"} if who == "citizen" else {"sub", "name"}
        assert item["assignee"] is None or set(item["assignee"]) == shown
        assert item["status"] == "in_service" and item["citizen_name"]
