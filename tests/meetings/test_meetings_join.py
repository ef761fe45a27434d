"""Joining: who, when (15 minutes before the start to the end), and the room link, with the
Jitsi JWT when token authentication is configured."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

import jwt
import pytest

from services.meetings.rooms import JitsiRooms
from shared.clock import FrozenClock
from shared.ids import new_id
from shared.messages import MeetingJoined
from tests.meetings.meetings_support import at, frozen, in_service, post, record_events, schedule

JITSI = {"jitsi_base_url": "https://meet.example.gov.br/", "jitsi_app_id": "atende",
         "jitsi_app_secret": "segredo-do-jitsi-com-32-bytes-ok!"}


@pytest.fixture
def clock() -> FrozenClock:
    return frozen()


def _meeting(h: Any, clock: FrozenClock, hours: float = 1, **kw: Any
             ) -> tuple[str, dict[str, Any]]:
    rid = in_service(h, new_id())
    return rid, schedule(h, rid, at(clock, hours=hours), **kw)


def _join(h: Any, rid: str, mid: str, who: str = "citizen", name: str = "Clara") -> Any:
    return post(h, f"/requests/{rid}/meetings/{mid}/join", {"display_name": name}, who=who)


def test_join_window(harness: Any, clock: FrozenClock) -> None:
    rid, m = _meeting(harness, clock, duration_minutes=30)     # 1:00-1:30 from now
    clock.advance(minutes=44)                                   # 16 minutes before
    for who in ("citizen", "assignee"):
        r = _join(harness, rid, m["id"], who)
        assert r.status_code == 409 and r.json["code"] == "outside_join_window", who
    clock.advance(minutes=1)                                    # the window opens
    r = _join(harness, rid, m["id"])
    assert r.status_code == 200, r.text
    assert set(r.json) == {"url", "room", "expires_at"}
    assert datetime.fromisoformat(r.json["expires_at"]) == datetime.fromisoformat(m["ends_at"])
    clock.advance(minutes=44)                                   # a minute before the end
    assert _join(harness, rid, m["id"], "assignee").status_code == 200
    clock.advance(minutes=1)                                    # the end
    r = _join(harness, rid, m["id"])
    assert r.status_code == 409 and r.json["code"] == "outside_join_window"


def test_cancelled_meeting_cannot_be_joined(harness: Any, clock: FrozenClock) -> None:
    rid, m = _meeting(harness, clock)
    post(harness, f"/requests/{rid}/meetings/{m['id']}/cancellation", {}, status=200)
    clock.advance(minutes=50)
    r = _join(harness, rid, m["id"])
    assert r.status_code == 409 and r.json["code"] == "invalid_transition"


@pytest.mark.parametrize(("who", "status"), [
    ("colleague", 403), ("registrar", 403), ("analyst", 403),
    ("other_citizen", 404), ("other_unit", 404), ("other_org", 404),
])
def test_only_the_assignee_and_citizen_join(harness: Any, clock: FrozenClock, who: str,
                                            status: int) -> None:
    rid, m = _meeting(harness, clock)
    clock.advance(minutes=50)
    assert _join(harness, rid, m["id"], who).status_code == status


@pytest.mark.parametrize("name", ["", "   ", "x" * 101])
def test_display_name_is_required(harness: Any, clock: FrozenClock, name: str) -> None:
    rid, m = _meeting(harness, clock)
    clock.advance(minutes=50)
    assert _join(harness, rid, m["id"], name=name).status_code == 422


def test_same_room_for_both_and_joins_are_recorded(harness: Any, clock: FrozenClock,
                                                   monkeypatch: Any) -> None:
    events = record_events(monkeypatch)
    rid, m = _meeting(harness, clock)
    other_rid, other = _meeting(harness, clock, hours=3)
    clock.advance(minutes=50)
    a = _join(harness, rid, m["id"], "assignee", "Beatriz").json
    c = _join(harness, rid, m["id"], "citizen", "Clara C.").json
    assert a["room"] == c["room"] and a["room"].startswith("atende-")
    assert len(a["room"]) >= 30 and a["room"] == a["room"].lower()
    assert a["url"] == f"https://meet.jit.si/{a['room']}"       # no token auth configured
    clock.advance(hours=2)
    assert _join(harness, other_rid, other["id"]).json["room"] != a["room"]
    joined = [e for e in events if isinstance(e, MeetingJoined)]
    assert [(e.role, e.participant.sub, e.participant.name) for e in joined[:2]] == [
        ("attendant", "beatriz", "Beatriz"), ("citizen", "clara", "Clara C.")]
    assert joined[0].occurred_at < joined[2].occurred_at


def test_jitsi_jwt_claims(make_harness: Any, clock: FrozenClock) -> None:
    h = make_harness(**JITSI)
    rid, m = _meeting(h, clock)
    clock.advance(minutes=50)
    ids: list[str] = []
    for who, name, moderator in (("assignee", "Beatriz", True), ("citizen", "Clara", False)):
        r = _join(h, rid, m["id"], who, name)
        assert r.status_code == 200, r.text
        url = urlsplit(r.json["url"])
        assert f"{url.scheme}://{url.netloc}{url.path}" == \
            f"https://meet.example.gov.br/{r.json['room']}"
        [token] = parse_qs(url.query)["jwt"]
        claims = jwt.decode(token, JITSI["jitsi_app_secret"], algorithms=["HS256"],
                            audience="jitsi")
        assert claims["iss"] == "atende" and claims["sub"] == "meet.example.gov.br"
        assert claims["room"] == r.json["room"]
        assert claims["exp"] == int(datetime.fromisoformat(m["ends_at"]).timestamp())
        assert claims["context"]["user"]["name"] == name
        assert claims["context"]["user"]["moderator"] is moderator
        # Jitsi is a third party: it gets a pseudonym, never the sub (a CPF with gov.br),
        # the same each time the person joins this room.
        user_id = claims["context"]["user"]["id"]
        ids.append(user_id)
        assert len(user_id) == 32 and "beatriz" not in user_id and "clara" not in user_id
        again = parse_qs(urlsplit(_join(h, rid, m["id"], who, name).json["url"]).query)
        assert jwt.decode(again["jwt"][0], JITSI["jitsi_app_secret"], algorithms=["HS256"],
                          audience="jitsi")["context"]["user"]["id"] == user_id
        with pytest.raises(jwt.InvalidSignatureError):
            jwt.decode(token, "outro-segredo-qualquer-de-32-bytes", algorithms=["HS256"],
                       audience="jitsi")
    assert len(set(ids)) == 2


def test_rooms_adapter_without_and_with_a_path() -> None:
    plain = JitsiRooms("https://jitsi.example.org/salas/")
    assert not plain.token_auth and plain.domain == "jitsi.example.org"
    names = {plain.new_room() for _ in range(50)}
    assert len(names) == 50
    link = plain.link("atende-abc", user_id="u", name="U", moderator=False,
                      expires_at=datetime.fromisoformat("2030-01-01T10:00:00+00:00"))
    assert link.url == "https://jitsi.example.org/salas/atende-abc"
