"""Guests: invited by the assignee, mailed an invite token that is stored only as a hash,
good for that meeting only and only until it ends."""

from __future__ import annotations

import email
import email.policy
import hashlib
import json
from pathlib import Path
from typing import Any

import jwt
import pytest

from services.meetings.consumers import send_invite
from services.meetings.invites import InviteTokens
from shared.clock import FrozenClock
from shared.ids import new_id
from shared.messages import GuestInvited, MeetingJoined
from shared.outbox import UnitOfWork
from tests.meetings.meetings_support import at, frozen, in_service, post, record_events, schedule

GUEST = {"name": "Gilberto Perito", "email": "gil@example.com"}


@pytest.fixture
def clock() -> FrozenClock:
    return frozen()


def _invite(h: Any, clock: FrozenClock, guest: dict[str, str] = GUEST, hours: float = 1,
            duration: int = 60) -> tuple[str, dict[str, Any], dict[str, Any]]:
    rid = in_service(h, new_id())
    m = schedule(h, rid, at(clock, hours=hours), duration_minutes=duration)
    g = post(h, f"/requests/{rid}/meetings/{m['id']}/guests", guest, status=201).json
    return rid, m, g


def _guest_join(h: Any, token: str, name: str = "Gil") -> Any:
    return post(h, "/meetings/join", {"invite_token": token, "display_name": name}, who=None)


def _mails_to(h: Any, to: str) -> list[Any]:
    root = Path(h.platform.settings.data_dir) / "mail"
    found = [email.message_from_bytes(p.read_bytes(), policy=email.policy.default)
             for p in sorted(root.glob("*.eml"))]
    return [m for m in found if m["To"] == to]


def _text(msg: Any) -> str:
    return str(msg.get_body(("plain",)).get_content())


def test_invite_shows_the_token_once_and_stores_only_its_hash(
        harness: Any, clock: FrozenClock, monkeypatch: Any) -> None:
    events = record_events(monkeypatch)
    jobs: list[tuple[str, dict[str, Any]]] = []
    original = UnitOfWork.send_task

    def send_task(self: UnitOfWork, service: str, actor: str, payload: dict[str, Any]) -> None:
        jobs.append((actor, payload))
        original(self, service, actor, payload)

    monkeypatch.setattr(UnitOfWork, "send_task", send_task)
    rid, m, g = _invite(harness, clock)
    token = g["invite_token"]
    assert set(g) == {"id", "name", "email", "invite_token"} and len(token) > 40
    assert g["name"] == GUEST["name"] and g["email"] == GUEST["email"]
    listed = harness.client.simulate_get(f"/requests/{rid}/meetings",
                                         headers={"Authorization": "Bearer " + harness.token(
                                             "clara", "citizen")}).json["items"][0]
    assert listed["guests"] == [{"id": g["id"], **GUEST}]
    assert [p for a, p in jobs if a.startswith("meetings")] == [{"guest_id": g["id"]}]
    [invited] = [e for e in events if isinstance(e, GuestInvited)]
    assert invited.guest.email == GUEST["email"] and invited.meeting_id == m["id"]
    assert token not in json.dumps(invited.model_dump(mode="json"))
    harness.drain()
    table = harness.table("meetings")
    dump = "\n".join(r[0] for r in table.db.connection().execute(
        f'SELECT body FROM "{table.name}"'))
    assert token not in dump
    assert hashlib.sha256(token.encode()).hexdigest() in dump


def test_the_guest_is_mailed_the_token_once(harness: Any, clock: FrozenClock) -> None:
    _, _, g = _invite(harness, clock)
    harness.drain()
    [mail] = _mails_to(harness, GUEST["email"])
    assert mail["Subject"].startswith("Convite para videoconferência")
    text = _text(mail)
    assert g["invite_token"] in text and '"Conferir documentos"' in text
    assert GUEST["name"] in text and "Beatriz Atendente" in text
    ctx = harness.platform.contexts["meetings"]
    assert send_invite(ctx, {"guest_id": g["id"]}) is False   # a redelivery
    assert len(_mails_to(harness, GUEST["email"])) == 1


def test_guest_joins_inside_the_window_only(make_harness: Any, clock: FrozenClock,
                                            monkeypatch: Any) -> None:
    secret = "segredo-do-jitsi-com-32-bytes-ok!"
    h = make_harness(jitsi_app_id="atende", jitsi_app_secret=secret)
    events = record_events(monkeypatch)
    rid, m, g = _invite(h, clock, duration=30)
    token = g["invite_token"]
    clock.advance(minutes=44)
    r = _guest_join(h, token)
    assert r.status_code == 409 and r.json["code"] == "outside_join_window"
    clock.advance(minutes=1)
    r = _guest_join(h, token, "Gil Perito")
    assert r.status_code == 200, r.text
    claims = jwt.decode(r.json["url"].split("?jwt=")[1], secret, algorithms=["HS256"],
                        audience="jitsi")
    user = claims["context"]["user"]
    assert {**user, "id": None} == {"id": None, "name": "Gil Perito", "moderator": False}
    assert len(user["id"]) == 32 and g["id"] not in user["id"]  # a pseudonym for Jitsi
    citizen = post(h, f"/requests/{rid}/meetings/{m['id']}/join", {"display_name": "Clara"},
                   who="citizen", status=200).json
    assert citizen["room"] == r.json["room"]
    [joined] = [e for e in events if isinstance(e, MeetingJoined) and e.role == "guest"]
    assert joined.participant.name == "Gil Perito" and joined.meeting_id == m["id"]
    clock.advance(minutes=45)                    # the meeting ended: the token expired
    r = _guest_join(h, token)
    assert r.status_code == 409 and r.json["code"] == "outside_join_window"


def test_cancelled_meeting_refuses_its_guests(harness: Any, clock: FrozenClock) -> None:
    rid, m, g = _invite(harness, clock)
    post(harness, f"/requests/{rid}/meetings/{m['id']}/cancellation", {}, status=200)
    clock.advance(minutes=50)
    r = _guest_join(harness, g["invite_token"])
    assert r.status_code == 409


def test_forged_and_misused_tokens_are_404(harness: Any, clock: FrozenClock) -> None:
    _, _, ga = _invite(harness, clock)
    _, _, gb = _invite(harness, clock, {"name": "Outro", "email": "outro@example.com"},
                       hours=3)
    clock.advance(minutes=50)
    token = ga["invite_token"]
    guest_id, _, mac = token.partition(".")
    flipped = mac[:-1] + ("A" if mac[-1] != "A" else "B")
    forged = [
        f"{guest_id}.{flipped}",                                  # tampered
        f"{gb['id']}.{mac}",                                      # another guest, A's MAC
        InviteTokens("another-deployment").token(guest_id),       # another secret
        f"{new_id()}.{mac}", guest_id, "nonsense", f"{guest_id}.", "é.ü",
    ]
    for bad in forged:
        r = _guest_join(harness, bad)
        assert r.status_code == 404 and r.json["code"] == "not_found", bad
    # A's token joins A's room, never B's, even while B is open too.
    room_a = _guest_join(harness, token).json["room"]
    clock.advance(hours=2)
    assert _guest_join(harness, token).status_code == 409        # A is over
    room_b = _guest_join(harness, gb["invite_token"]).json["room"]
    assert room_a != room_b


def test_guest_join_input(harness: Any, clock: FrozenClock) -> None:
    _, _, g = _invite(harness, clock)
    for body in ({"invite_token": g["invite_token"]}, {"display_name": "Gil"},
                 {"invite_token": g["invite_token"], "display_name": " "},
                 {"invite_token": g["invite_token"], "display_name": "Gil", "meeting": "x"}):
        r = post(harness, "/meetings/join", body, who=None)
        assert r.status_code == 422, body


@pytest.mark.parametrize(("who", "status"), [
    ("citizen", 403), ("colleague", 403), ("other_citizen", 404), ("other_unit", 404)])
def test_only_the_assignee_invites(harness: Any, clock: FrozenClock, who: str,
                                   status: int) -> None:
    rid = in_service(harness, new_id())
    m = schedule(harness, rid, at(clock, hours=1))
    post(harness, f"/requests/{rid}/meetings/{m['id']}/guests", GUEST, who=who, status=status)


@pytest.mark.parametrize("body", [
    {"name": "Gil"}, {"email": "gil@example.com"}, {"name": "", "email": "gil@example.com"},
    {"name": "Gil", "email": "não-é-email"}, {"name": "Gil", "email": "a@b.c\r\nBcc: x@y.z"},
    {"name": "Gil", "email": "gil@example.com", "role": "moderator"},
])
def test_guest_input_is_checked(harness: Any, clock: FrozenClock, body: dict[str, Any]) -> None:
    rid = in_service(harness, new_id())
    m = schedule(harness, rid, at(clock, hours=1))
    post(harness, f"/requests/{rid}/meetings/{m['id']}/guests", body, status=422)


def test_a_guest_is_invited_once(harness: Any, clock: FrozenClock) -> None:
    rid, m, _ = _invite(harness, clock)
    again = {"name": "Gil de novo", "email": GUEST["email"].upper()}
    r = post(harness, f"/requests/{rid}/meetings/{m['id']}/guests", again, status=422)
    assert r.json["errors"][0]["field"] == "email"
