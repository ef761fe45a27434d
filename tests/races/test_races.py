"""Conflicting commands at the same instant: exactly one wins, every time.

Each case runs ``ATENDE_RACE_TRIES`` times (200 by default) with two real threads released
together by a barrier, straight into the gateway's WSGI app, then checks the state the
winner left (and, after the workers ran, that its event took effect exactly once).
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from shared.ids import new_id
from shared.messages import Party, RequestConcluded, RequestSnapshot
from tests.helpers import VALID_CPF, Setup, setup_service
from tests.races.wsgi import Answer, Racer, call, racer, statuses

TRIES = int(os.environ.get("ATENDE_RACE_TRIES", "200"))


class Flow:
    """The requests a race needs, made over the same direct WSGI calls."""

    def __init__(self, harness: Any, s: Setup) -> None:
        self.h, self.s, self.app = harness, s, harness.client.app

    def do(self, who: str, method: str, path: str, body: Any = None,
           **headers: str) -> Answer:
        return call(self.app, method, path, self.s.h(who, **headers), body)

    def ok(self, who: str, method: str, path: str, body: Any = None, status: int = 200
           ) -> dict[str, Any]:
        r = self.do(who, method, path, body)
        assert r.status == status, (path, r.status, r.body)
        return r.json

    def in_analysis(self) -> str:
        rid = self.ok("citizen", "POST", "/requests", {
            "service_id": self.s.service_id,
            "answers": {"nome": "Ana Cidadã", "cpf": VALID_CPF}}, status=201)["id"]
        self.ok("analyst", "POST", f"/requests/{rid}/analysis")
        return rid

    def in_service(self) -> str:
        rid = self.in_analysis()
        self.ok("analyst", "POST", f"/requests/{rid}/approval",
                {"assignee": self.s.subs["assignee"]})
        return rid

    def concluded_for_reviews(self) -> str:
        """A concluded request as the reviews service knows it, told straight to its
        consumer: the race is on the review, and the whole workflow per try would only
        load the workers."""
        rid = new_id()
        citizen = Party(sub="ana", name="Ana Cidadã")
        assignee = Party(sub=self.s.subs["assignee"], name="Bruno Atendente")
        snap = RequestSnapshot(version=4, status="concluded", service_id=self.s.service_id,
                               service_name="Segunda via", org=self.s.org, unit=self.s.unit,
                               citizen=citizen, assignee=assignee)
        event = RequestConcluded(request_id=rid, request=snap, actor=assignee, summary="Ok.")
        assert self.h.platform.consumers["reviews"](event.model_dump(mode="json"))
        return rid

    def settle(self, done: int) -> None:
        """Every few tries, let the workers catch up: on a loaded machine one backlog of
        all the tries' events could outlast the harness's drain timeout."""
        if done % 25 == 0:
            self.h.drain()

    def request(self, rid: str) -> dict[str, Any]:
        return self.ok("registrar", "GET", f"/requests/{rid}")

    def timeline_types(self, rid: str) -> list[str]:
        page = self.ok("registrar", "GET", f"/requests/{rid}/timeline?limit=100")
        return [e["type"] for e in page["items"]]

    def all_items(self, who: str, path: str, query: str = "") -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        cursor = ""
        while True:
            page = self.ok(who, "GET", f"{path}?{query}limit=100{cursor}")
            items += page["items"]
            if not page["next_cursor"]:
                return items
            cursor = f"&cursor={page['next_cursor']}"


@pytest.fixture
def flow(harness: Any) -> Iterator[Flow]:
    s = setup_service(harness)
    reg = s.h("registrar")
    r = harness.client.simulate_put("/attendants/carla", headers=reg,
                                    json={"name": "Carla", "unit": s.unit, "enabled": True})
    assert r.status_code == 200, r.text
    s.subs["carla"] = "carla"
    yield Flow(harness, s)
    harness.drain()
    assert harness.dead_letters == [], "a race left a message dead-lettered"


@pytest.fixture
def race() -> Any:
    with racer(2) as r:
        yield r


def _winner(answers: list[Answer], labels: list[str], ok: int) -> str:
    return next(label for a, label in zip(answers, labels, strict=True) if a.status == ok)


def test_two_approvals_of_one_request(flow: Flow, race: Racer) -> None:
    won: dict[str, str] = {}
    for _ in range(TRIES):
        rid = flow.in_analysis()
        subs = [flow.s.subs["assignee"], "carla"]
        answers = race.race(*[_approval(flow, rid, sub) for sub in subs])
        assert statuses(answers) == [200, 409], [(a.status, a.body) for a in answers]
        assert next(a for a in answers if a.status == 409).json["code"] == "invalid_transition"
        won[rid] = _winner(answers, subs, 200)
        flow.settle(len(won))
    flow.h.drain()
    for rid, sub in won.items():
        req = flow.request(rid)
        assert (req["status"], req["assignee"]["sub"], req["version"]) == ("in_service", sub, 3)
        assert flow.timeline_types(rid).count("RequestApproved") == 1


def test_approve_versus_reject(flow: Flow, race: Racer) -> None:
    won: dict[str, str] = {}
    for _ in range(TRIES):
        rid = flow.in_analysis()
        answers = race.race(
            _approval(flow, rid, flow.s.subs["assignee"]),
            lambda rid=rid: flow.do("analyst", "POST", f"/requests/{rid}/rejection",
                                    {"justification": "Faltam documentos obrigatórios."}))
        assert statuses(answers) == [200, 409], [(a.status, a.body) for a in answers]
        assert next(a for a in answers if a.status == 409).json["code"] == "invalid_transition"
        won[rid] = _winner(answers, ["in_service", "rejected"], 200)
        flow.settle(len(won))
    flow.h.drain()
    counts = {"in_service": 0, "rejected": 0}
    for rid, state in won.items():
        assert flow.request(rid)["status"] == state
        types = flow.timeline_types(rid)
        assert types.count("RequestApproved") + types.count("RequestRejected") == 1, types
        counts[state] += 1
    print(f"\napprove vs reject over {TRIES} tries: {counts}")


def test_two_reviews_of_one_request(flow: Flow, race: Racer) -> None:
    rids = [flow.concluded_for_reviews() for _ in range(TRIES)]
    won: dict[str, str] = {}
    for rid in rids:
        verdicts = ["approved", "rejected"]
        answers = race.race(*[
            (lambda v=v, rid=rid: flow.do("citizen", "POST", f"/requests/{rid}/review",
                                          {"verdict": v, "rating": 4,
                                           "comment": "Atendimento rápido."}))
            for v in verdicts])
        assert statuses(answers) == [201, 409], [(a.status, a.body) for a in answers]
        assert next(a for a in answers if a.status == 409).json["code"] == "already_reviewed"
        won[rid] = _winner(answers, verdicts, 201)
    flow.h.drain()  # screening
    queue = flow.all_items("analyst", "/reviews", "moderation=pending&")
    assert sorted(r["request_id"] for r in queue) == sorted(rids)
    assert {r["request_id"]: r["verdict"] for r in queue} == won


def test_two_overlapping_meetings_of_one_attendant(flow: Flow, race: Racer) -> None:
    a, b = flow.in_service(), flow.in_service()
    flow.h.drain()  # the meetings service learns both are in service, with one assignee
    base = datetime.now(UTC).replace(microsecond=0) + timedelta(days=1)
    won: list[str] = []
    for i in range(TRIES):
        start = base + timedelta(hours=3 * i)
        # Every other try both land on one request; else one on each: the attendant's
        # calendar, not the request, is what must stay free of overlaps.
        second = a if i % 2 else b
        contenders = [(a, start), (second, start + timedelta(minutes=30))]
        answers = race.race(*[_schedule(flow, rid, at) for rid, at in contenders])
        assert statuses(answers) == [201, 409], [(x.status, x.body) for x in answers]
        won.append(next(x for x in answers if x.status == 201).json["id"])
    meetings = (flow.all_items("assignee", f"/requests/{a}/meetings")
                + flow.all_items("assignee", f"/requests/{b}/meetings"))
    assert sorted(m["id"] for m in meetings) == sorted(won)
    spans = sorted((m["starts_at"], m["ends_at"]) for m in meetings)
    for (_, end), (start, _) in itertools.pairwise(spans):
        assert _t(end) <= _t(start), "two scheduled meetings of one attendant overlap"


def test_double_followup_with_one_idempotency_key(flow: Flow, race: Racer) -> None:
    rid = flow.in_service()
    flow.h.drain()  # the followups service learns the request is in service
    ids: list[str] = []
    for i in range(TRIES):
        post = _followup(flow, rid, f"Mensagem {i}", key=f"race-{i}")
        answers = race.race(post, post)
        assert statuses(answers) == [201, 201], [(x.status, x.body) for x in answers]
        first, second = (x.json for x in answers)
        assert first == second
        replayed = [x.headers.get("idempotent-replayed") for x in answers]
        assert replayed.count("true") <= 1
        ids.append(first["id"])
    posted = flow.all_items("citizen", f"/requests/{rid}/followups")
    assert [f["id"] for f in posted] == ids


def _approval(flow: Flow, rid: str, sub: str) -> Callable[[], Answer]:
    return lambda: flow.do("analyst", "POST", f"/requests/{rid}/approval", {"assignee": sub})


def _schedule(flow: Flow, rid: str, at: datetime) -> Callable[[], Answer]:
    body = {"starts_at": at.isoformat(), "duration_minutes": 60, "subject": "Conferência"}
    return lambda: flow.do("assignee", "POST", f"/requests/{rid}/meetings", body)


def _followup(flow: Flow, rid: str, text: str, key: str) -> Callable[[], Answer]:
    return lambda: flow.do("citizen", "POST", f"/requests/{rid}/followups", {"body": text},
                           **{"Idempotency-Key": key})


def _t(stamp: str) -> datetime:
    return datetime.fromisoformat(stamp)
