"""The world the security tests act on: one institution, its people, and a request in each
state a route needs, with the ids of everything hanging off them."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from tests.helpers import (
    Setup,
    approve,
    multipart,
    pdf_bytes,
    png_bytes,
    setup_service,
    start_analysis,
    submit,
)


@dataclass
class World:
    """One institution and a request in each state the rows need."""

    s: Setup
    ids: dict[str, dict[str, str]] = field(default_factory=dict)
    headers: dict[str, dict[str, str]] = field(default_factory=dict)


def build_world(h: Any) -> World:
    s = setup_service(h)
    c = h.client
    reg = s.h("registrar")
    tokens = {
        "owner": s.tokens["citizen"], "citizen": s.tokens["other_citizen"],
        "unit": s.tokens["analyst"], "o_unit": s.tokens["outsider"],
        "o_org": h.token("olga", "registrar", "attendant", org="outra-org", unit=s.unit,
                         name="Olga Outra"),
        "disabled": h.token("dora", "attendant", org=s.org, unit=s.unit, name="Dora"),
        "never": h.token("nemo", "attendant", org=s.org, unit=s.unit, name="Nemo"),
        "self": h.token("sol", "citizen", "attendant", org=s.org, unit=s.unit, name="Sol"),
        "registrar": s.tokens["registrar"],
    }
    s.tokens["self"] = tokens["self"]
    for sub, unit, enabled in ((s.subs["outsider"], f"{s.unit}-outra", True),
                               ("dora", s.unit, False), ("sol", s.unit, True)):
        r = c.simulate_put(f"/attendants/{sub}", headers=reg,
                           json={"name": sub.title(), "unit": unit, "enabled": enabled})
        assert r.status_code == 200, r.text
    w = World(s, headers={"anon": {}, **{k: h.auth(v) for k, v in tokens.items()}})
    w.ids["-"] = {"service_id": s.service_id, "sub": "novo-atendente"}

    rid = submit(h, s, document=pdf_bytes())
    doc = c.simulate_get(f"/requests/{rid}", headers=s.h("citizen")).json["documents"][0]
    # No upload slot exists where files are kept on disk: any id names none.
    w.ids["submitted"] = {"request_id": rid, "doc_id": doc["id"],
                          "upload_id": "01nosuchupload0000000000"}
    w.ids["to_analyse"] = {"request_id": submit(h, s)}
    for name in ("in_analysis", "to_reject", "to_approve"):
        rid = submit(h, s)
        start_analysis(h, s, rid)
        w.ids[name] = {"request_id": rid, "key": "identidade"}
    # The unit's attendant analyses and is also the assignee: one "unit" column.
    for name in ("in_service", "to_conclude", "to_reassign", "to_cancel", "concluded",
                 "reviewed"):
        rid = submit(h, s)
        approve(h, s, rid, assignee="analyst")
        w.ids[name] = {"request_id": rid}
    for name in ("concluded", "reviewed"):
        _conclude(h, s, w.ids[name]["request_id"])
    _own_requests(h, w)
    h.drain()  # followups, meetings and reviews learn the requests' states and the roster

    srv = w.ids["in_service"]
    body, ctype = multipart({"body": "Segue o comprovante."}, [("file", "c.png", png_bytes())])
    r = c.simulate_post(f"/requests/{srv['request_id']}/followups", body=body,
                        headers=s.h("citizen", **{"Content-Type": ctype}))
    assert r.status_code == 201, r.text
    srv["followup_id"], srv["attachment_id"] = r.json["id"], r.json["attachments"][0]["id"]
    now = datetime.now(UTC).replace(microsecond=0)
    # Starts in 5 minutes: the join window (15 minutes before the start) is open.
    srv["meeting_id"] = _meeting(h, s, srv["request_id"], now + timedelta(minutes=5))
    r = c.simulate_post(f"/requests/{srv['request_id']}/meetings/{srv['meeting_id']}/guests",
                        headers=s.h("analyst"), json={"name": "Gil", "email": "gil@ex.com"})
    assert r.status_code == 201, r.text
    srv["invite_token"] = r.json["invite_token"]
    cancel = w.ids["to_cancel"]
    cancel["meeting_id"] = _meeting(h, s, cancel["request_id"], now + timedelta(days=2))
    r = c.simulate_post(f"/requests/{w.ids['reviewed']['request_id']}/review",
                        headers=s.h("citizen"),
                        json={"verdict": "approved", "rating": 5, "comment": "Muito bom."})
    assert r.status_code == 201, r.text
    w.ids["reviewed"]["review_id"] = r.json["id"]
    own = w.ids["self:in_service"]
    own["meeting_id"] = _meeting(h, s, own["request_id"], now + timedelta(hours=6))
    own = w.ids["self:to_cancel"]
    own["meeting_id"] = _meeting(h, s, own["request_id"], now + timedelta(days=6))
    r = c.simulate_post(f"/requests/{w.ids['self:reviewed']['request_id']}/review",
                        headers=s.h("self"), json={"verdict": "approved", "comment": "Ótimo."})
    assert r.status_code == 201, r.text
    w.ids["self:reviewed"]["review_id"] = r.json["id"]
    h.drain()  # screening, notifications
    notes = c.simulate_get("/notifications", headers=s.h("citizen")).json["items"]
    assert notes, "the citizen was told nothing"
    w.ids["-"]["notification_id"] = notes[0]["id"]
    return w


def _own_requests(h: Any, w: World) -> None:
    """The requests of "self", a citizen who is also an enabled attendant of the unit, in
    the states of the rows where they would be handling their own request (``self:<name>``);
    the unit's attendant analyses and attends them."""
    s = w.s
    w.ids["self:to_analyse"] = {"request_id": submit(h, s, who="self")}
    for name in ("in_analysis", "to_reject", "to_approve"):
        rid = submit(h, s, who="self")
        start_analysis(h, s, rid)
        w.ids[f"self:{name}"] = {"request_id": rid, "key": "identidade"}
    for name in ("in_service", "to_conclude", "to_reassign", "to_cancel", "reviewed"):
        rid = submit(h, s, who="self")
        approve(h, s, rid, assignee="analyst")
        w.ids[f"self:{name}"] = {"request_id": rid}
    _conclude(h, s, w.ids["self:reviewed"]["request_id"])


def _conclude(h: Any, s: Setup, rid: str) -> None:
    r = h.client.simulate_post(f"/requests/{rid}/conclusion", headers=s.h("analyst"),
                               json={"summary": "Concluído."})
    assert r.status_code == 200, r.text


def _meeting(h: Any, s: Setup, rid: str, at: datetime) -> str:
    r = h.client.simulate_post(f"/requests/{rid}/meetings", headers=s.h("analyst"), json={
        "starts_at": at.isoformat(), "duration_minutes": 60, "subject": "Conferência"})
    assert r.status_code == 201, r.text
    return r.json["id"]
