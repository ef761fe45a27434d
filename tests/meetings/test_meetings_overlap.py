"""No two scheduled meetings of one attendant overlap, however the requests interleave."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from shared.clock import FrozenClock
from shared.ids import new_id
from tests.meetings.meetings_support import (
    OTHER_ASSIGNEE,
    at,
    frozen,
    in_service,
    post,
    schedule,
    token,
)


@pytest.fixture
def clock() -> FrozenClock:
    return frozen()


def _url(rid: str) -> str:
    return f"/requests/{rid}/meetings"


def test_overlapping_meetings_of_one_attendant_are_409(harness: Any,
                                                       clock: FrozenClock) -> None:
    a, b = in_service(harness, new_id()), in_service(harness, new_id())
    schedule(harness, a, at(clock, hours=2), duration_minutes=60)    # 2:00-3:00
    for start, minutes in ((2, 60), (1.5, 45), (2.5, 15), (1, 240), (2.99, 15)):
        r = schedule(harness, b, at(clock, hours=start), duration_minutes=minutes, status=409)
        assert r["code"] == "conflict", (start, minutes)
    # Touching ends do not overlap.
    schedule(harness, b, at(clock, hours=3), duration_minutes=30)    # 3:00-3:30
    schedule(harness, b, at(clock, hours=1), duration_minutes=60)    # 1:00-2:00
    r = harness.client.simulate_get(_url(b), headers=token(harness, "assignee"))
    assert len(r.json["items"]) == 2


def test_other_attendants_are_free(harness: Any, clock: FrozenClock) -> None:
    a = in_service(harness, new_id())
    b = in_service(harness, new_id(), assignee=OTHER_ASSIGNEE)
    schedule(harness, a, at(clock, hours=2))
    schedule(harness, b, at(clock, hours=2), who="other_assignee")


def test_cancelling_frees_the_time(harness: Any, clock: FrozenClock) -> None:
    rid = in_service(harness, new_id())
    m = schedule(harness, rid, at(clock, hours=2))
    schedule(harness, rid, at(clock, hours=2, minutes=30), status=409)
    post(harness, f"{_url(rid)}/{m['id']}/cancellation", {}, status=200)
    schedule(harness, rid, at(clock, hours=2, minutes=30))


def test_rescheduling_checks_overlap_but_not_with_itself(harness: Any,
                                                         clock: FrozenClock) -> None:
    rid = in_service(harness, new_id())
    first = schedule(harness, rid, at(clock, hours=2))               # 2:00-3:00
    schedule(harness, rid, at(clock, hours=4))                       # 4:00-5:00
    url = f"{_url(rid)}/{first['id']}"
    headers = token(harness, "assignee")
    r = harness.client.simulate_patch(url, json={"starts_at": at(clock, hours=2, minutes=30)},
                                      headers=headers)
    assert r.status_code == 200, r.text                              # 2:30-3:30, over itself
    r = harness.client.simulate_patch(url, json={"duration_minutes": 120}, headers=headers)
    assert r.status_code == 409 and r.json["code"] == "conflict"     # would reach 4:30
    r = harness.client.simulate_patch(url, json={"duration_minutes": 90}, headers=headers)
    assert r.status_code == 200                                      # 2:30-4:00
    # Its old times are free again.
    schedule(harness, rid, at(clock, hours=1), duration_minutes=90)  # 1:00-2:30


def test_a_race_of_two_overlapping_schedules_has_one_winner(harness: Any,
                                                            clock: FrozenClock) -> None:
    rids = [in_service(harness, new_id()) for _ in range(2)]
    barrier = threading.Barrier(len(rids) * 2)
    statuses: list[int] = []
    lock = threading.Lock()

    def attempt(rid: str, minutes: int) -> None:
        body = {"starts_at": at(clock, hours=3, minutes=minutes), "subject": "Corrida"}
        barrier.wait()
        r = harness.client.simulate_post(_url(rid), json=body,
                                         headers=token(harness, "assignee"))
        with lock:
            statuses.append(r.status_code)

    threads = [threading.Thread(target=attempt, args=(rid, minutes))
               for rid in rids for minutes in (0, 20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(statuses) == [201, 409, 409, 409]
    total = sum(len(harness.client.simulate_get(_url(rid), headers=token(harness, "assignee"))
                    .json["items"]) for rid in rids)
    assert total == 1
