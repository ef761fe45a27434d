"""Through the gateway on the embedded platform: a real request driven to in_service, a
meeting a few minutes ahead, a guest, the citizen's notifications, and everyone joining
inside the window (with a Jitsi JWT that verifies), refused before and after."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import jwt
import pytest

from shared.clock import FrozenClock
from tests.helpers import approve, idem, setup_service, submit
from tests.meetings.meetings_support import frozen

SECRET = "segredo-do-jitsi-com-32-bytes-ok!"


@pytest.fixture
def clock() -> FrozenClock:
    return frozen()


def _claims(url: str) -> dict[str, Any]:
    return jwt.decode(url.split("?jwt=")[1], SECRET, algorithms=["HS256"], audience="jitsi")


def test_meeting_from_schedule_to_join(make_harness: Any, clock: FrozenClock) -> None:
    h = make_harness(jitsi_base_url="https://meet.example.gov.br", jitsi_app_id="atende",
                     jitsi_app_secret=SECRET)
    s = setup_service(h)
    rid = submit(h, s)
    approve(h, s, rid)
    h.drain()
    base = f"/requests/{rid}/meetings"
    starts = (clock.now() + timedelta(minutes=20)).isoformat()
    r = h.client.simulate_post(base, headers=idem(s.h("assignee")),
                               json={"starts_at": starts, "subject": "Validar identidade",
                                     "duration_minutes": 30})
    assert r.status_code == 201, r.text
    mid = r.json["id"]
    r = h.client.simulate_post(f"{base}/{mid}/guests", headers=idem(s.h("assignee")),
                               json={"name": "Intérprete de Libras",
                                     "email": "libras@example.com"})
    assert r.status_code == 201, r.text
    invite = r.json["invite_token"]
    h.drain()

    r = h.client.simulate_get("/notifications", headers=s.h("citizen"))
    assert "meeting_scheduled" in [n["kind"] for n in r.json["items"]]
    r = h.client.simulate_get(f"/requests/{rid}/timeline", headers=s.h("citizen"))
    assert {"MeetingScheduled", "GuestInvited"} <= {i["type"] for i in r.json["items"]}
    mail = h.platform.settings.data_dir / "mail"
    assert any(invite in p.read_text() for p in mail.glob("*.eml"))

    def join(who: str) -> Any:
        return h.client.simulate_post(f"{base}/{mid}/join", headers=s.h(who),
                                      json={"display_name": who.title()})

    def guest() -> Any:
        return h.client.simulate_post("/meetings/join", json={
            "invite_token": invite, "display_name": "Intérprete"})

    for r in (join("assignee"), join("citizen"), guest()):   # 20 minutes before
        assert r.status_code == 409 and r.json["code"] == "outside_join_window"
    clock.advance(minutes=6)                                    # 14 minutes before
    joined = [join("assignee"), join("citizen"), guest()]
    assert [r.status_code for r in joined] == [200, 200, 200], [r.text for r in joined]
    assert len({r.json["room"] for r in joined}) == 1
    moderators = [_claims(r.json["url"])["context"]["user"]["moderator"] for r in joined]
    assert moderators == [True, False, False]
    assert {_claims(r.json["url"])["room"] for r in joined} == {joined[0].json["room"]}
    assert join("outsider").status_code == 404
    h.drain()
    r = h.client.simulate_get(f"/requests/{rid}/timeline", headers=s.h("assignee"))
    assert [i["type"] for i in r.json["items"]].count("MeetingJoined") == 3

    clock.advance(minutes=44)                                   # the end
    for r in (join("assignee"), join("citizen"), guest()):
        assert r.status_code == 409 and r.json["code"] == "outside_join_window"
