"""`atende ops reproject` on the embedded default (SQLite): the request projections of
followups, meetings and reviews, damaged in three ways, rebuilt from the requests store,
through the command line; nothing else happens (no notification, no mail)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from infra import cli, ops
from services.requests.model import Request
from shared.tables import Delete, Put
from tests.helpers import approve, conclude, setup_service, submit


def _view(h: Any, service: str, rid: str) -> dict[str, Any] | None:
    pk = f"REQUEST#{rid}" if service == "reviews" else f"REQ#{rid}"
    return h.table(service).get(pk, "VIEW")


def _source(h: Any, rid: str) -> dict[str, Any]:
    item = h.table("requests").get(f"REQ#{rid}", "REQ")
    return Request.from_doc(item).snapshot().model_dump(mode="json")


def _damage(h: Any, rids: dict[str, str]) -> None:
    # followups lost a view; meetings kept a stale one (an event it never got); reviews
    # holds the right version with wrong contents (a projection bug, since fixed).
    view = _view(h, "followups", rids["open"])
    h.table("followups").transact([Delete(view["pk"], "VIEW")])
    view = _view(h, "meetings", rids["done"])
    stale = {**view["request"], "status": "in_service", "version": view["version"] - 1}
    h.table("meetings").transact([Put({**view, "request": stale, "version": stale["version"]},
                                      expect_version=view["version"])])
    view = _view(h, "reviews", rids["new"])
    wrong = {**view["request"], "unit": "outra-unidade"}
    h.table("reviews").transact([Put({**view, "request": wrong}, expect_version=view["version"])])


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> dict[str, dict[str, Any]]:
    assert cli.main(["ops", "reproject", *args]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    return {d.pop("service"): d for d in lines}


def test_reproject_rebuilds_the_request_views_from_the_requests_store(
        harness: Any, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    h = harness
    s = setup_service(h)
    rids = {"new": submit(h, s), "open": submit(h, s), "done": submit(h, s)}
    approve(h, s, rids["open"])
    approve(h, s, rids["done"])
    conclude(h, s, rids["done"])
    h.drain()
    inbox = h.client.simulate_get("/notifications", headers=s.h("citizen")).json["items"]
    _damage(h, rids)
    data_dir = str(h.platform.settings.data_dir)
    monkeypatch.setenv("ATENDE_DATA_DIR", data_dir)  # the command sets it from --data-dir

    dry = _run(capsys, "all", "--dry-run", "--data-dir", data_dir)
    assert {k: (v["requests"], v["written"]) for k, v in dry.items()} == {
        "followups": (3, 1), "meetings": (3, 1), "reviews": (3, 1), "requests": (3, 0)}
    assert _view(h, "followups", rids["open"]) is None  # a dry run writes nothing

    done = _run(capsys, "all", "--data-dir", data_dir)
    assert done == {k: {"requests": 3, "written": 1, "unchanged": 2, "skipped": 0}
                    for k in ("followups", "meetings", "reviews")} | {
        "requests": {"requests": 3, "written": 0, "unchanged": 3, "skipped": 0}}
    for service in ("followups", "meetings", "reviews"):
        for rid in rids.values():
            view = _view(h, service, rid)
            assert view is not None
            got, want = dict(view["request"]), _source(h, rid)
            assert got.pop("version") <= want.pop("version") and got == want, (service, rid)

    # The services act on the healed views: the citizen may post on the open request
    # again, and a meeting on the concluded one is refused (the stale view allowed it).
    r = h.client.simulate_post(f"/requests/{rids['open']}/followups", headers=s.h("citizen"),
                               json={"body": "Tudo certo?"})
    assert r.status_code == 201, r.text
    r = h.client.simulate_post(f"/requests/{rids['done']}/meetings", headers=s.h("assignee"),
                               json={"starts_at": "2099-01-01T12:00:00+00:00",
                                     "subject": "Depois do fim"})
    assert r.status_code == 409, r.text
    # Re-running a projection notifies nobody: the citizen's inbox is as it was.
    h.drain()
    assert h.client.simulate_get("/notifications", headers=s.h("citizen")
                                 ).json["items"] == inbox

    again = _run(capsys, "followups", "--request", rids["open"], "--data-dir", data_dir)
    assert again == {"followups": {"requests": 1, "written": 0, "unchanged": 1,
                                   "skipped": 0}}


def test_reproject_refuses_a_service_without_a_request_projection(harness: Any) -> None:
    with pytest.raises(ValueError):
        ops.reproject(harness.platform.settings, ["notifications"])


def test_reproject_requests_writes_the_panel_rows_a_store_lacks(
        harness: Any, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A store from before panel rows lists nothing on the panel until they are written."""
    h = harness
    s = setup_service(h)
    rids = [submit(h, s), submit(h, s)]
    approve(h, s, rids[1])
    table = h.table("requests")
    rows = {rid: table.get(f"REQ#{rid}", "PANEL") for rid in rids}
    table.transact([Delete(f"REQ#{rid}", "PANEL") for rid in rids])

    def panel(who: str) -> list[dict[str, Any]]:
        r = h.client.simulate_get("/requests", headers=s.h(who))
        assert r.status_code == 200, r.text
        return list(r.json["items"])

    assert panel("analyst") == [] and panel("citizen") == []
    data_dir = str(h.platform.settings.data_dir)
    monkeypatch.setenv("ATENDE_DATA_DIR", data_dir)
    done = _run(capsys, "requests", "--data-dir", data_dir)
    assert done == {"requests": {"requests": 2, "written": 2, "unchanged": 0, "skipped": 0}}
    assert {rid: table.get(f"REQ#{rid}", "PANEL") for rid in rids} == rows
    assert [i["id"] for i in panel("analyst")] == rids[::-1]  # newest first
    assert [i["id"] for i in panel("citizen")] == rids[::-1]
    again = _run(capsys, "requests", "--data-dir", data_dir)
    assert again["requests"]["unchanged"] == 2 and again["requests"]["written"] == 0
