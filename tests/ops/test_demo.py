"""`atende dev --demo` loads a day's work: requests in every state, some overdue, with
follow-ups, a meeting soon and reviews waiting for moderation; loading it again adds
nothing."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

from infra.demo import load_demo


def test_the_demo_is_a_days_work_and_loads_once(harness: Any) -> None:
    h = harness
    loaded = load_demo(h.platform)
    tok = loaded["tokens"]
    reg = {"Authorization": f"Bearer {tok['registrar']}"}
    panel = h.client.simulate_get("/requests", headers=reg, params={"limit": 100}).json
    states = Counter(item["status"] for item in panel["items"])
    assert set(states) == {"submitted", "in_analysis", "rejected", "in_service", "concluded"}
    overdue = h.client.simulate_get("/requests", headers=reg,
                                    params={"overdue": "true", "limit": 100}).json["items"]
    assert len(overdue) >= 2
    h.drain()
    in_service = [i["id"] for i in panel["items"] if i["status"] == "in_service"]
    talks = [h.client.simulate_get(f"/requests/{rid}/followups", headers=reg).json["items"]
             for rid in in_service]
    assert all(talks)
    soon = []
    for rid in in_service:
        for m in h.client.simulate_get(f"/requests/{rid}/meetings", headers=reg).json["items"]:
            starts = datetime.fromisoformat(m["starts_at"])
            soon.append(timedelta(0) < starts - datetime.now(UTC) < timedelta(hours=2))
    assert any(soon)
    queue = h.client.simulate_get("/reviews", headers={
        "Authorization": f"Bearer {tok['attendant']}"}).json["items"]
    moderation = Counter(r["moderation"] for r in queue)
    assert moderation["pending"] >= 1 and moderation["flagged"] >= 1

    load_demo(h.platform)
    again = h.client.simulate_get("/requests", headers=reg, params={"limit": 100}).json
    assert len(again["items"]) == len(panel["items"])
