"""Two schedulers on one database (two machines each running `atende scheduler`): at every
step both ticks run at the same moment over the same due reminders, and each reminder is
sent once."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import datetime, timedelta
from typing import Any

import pytest

from services.meetings import reminders
from shared.clock import FrozenClock
from shared.messages import MeetingReminderDue
from shared.outbox import UnitOfWork
from tests.helpers import SHARED_SERVERS, approve, setup_service, submit

pytestmark = SHARED_SERVERS

MEETINGS = 8


@pytest.fixture
def clock() -> FrozenClock:
    # At a round minute of real time: bearer tokens are checked in real time.
    return FrozenClock(datetime.now().astimezone().replace(second=0, microsecond=0))


def test_two_schedulers_send_each_reminder_once(make_harness: Any, pg_url: str,
                                                clock: FrozenClock,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    sent: Counter[str] = Counter()
    original = UnitOfWork.commit

    def commit(self: UnitOfWork) -> None:  # what each committed transaction published
        original(self)
        sent.update(e.meeting_id for e in self.events if isinstance(e, MeetingReminderDue))

    monkeypatch.setattr(UnitOfWork, "commit", commit)
    common = {"table_backend": "postgres", "database_url": pg_url, "database_pool_max": 4,
              "jwt_secret": "one identity provider for both machines"}
    one = make_harness(**common)
    two = make_harness(**common)
    try:
        s = setup_service(one)
        rid = submit(one, s)
        approve(one, s, rid)
        one.drain()
        start = clock.now() + timedelta(hours=2)
        ids = []
        for i in range(MEETINGS):  # 20 minutes apart: none overlaps the next
            r = one.client.simulate_post(
                f"/requests/{rid}/meetings", headers=s.h("assignee"),
                json={"starts_at": (start + timedelta(minutes=20 * i)).isoformat(),
                      "duration_minutes": 15, "subject": f"Conversa {i}"})
            assert r.status_code == 201, r.text
            ids.append(r.json["id"])
        clock.advance(minutes=90)  # the first reminder is due: 30 minutes before
        for _ in range(MEETINGS):
            gate = threading.Barrier(2)

            def tick(h: Any, gate: threading.Barrier = gate) -> None:
                gate.wait()
                reminders.tick(h.platform.contexts["meetings"])

            threads = [threading.Thread(target=tick, args=(h,)) for h in (one, two)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            clock.advance(minutes=20)
        assert sent == Counter({m: 1 for m in ids})
    finally:
        for h in (one, two):
            h.worker.stop()
            h.platform.broker.close()
            h.platform.close()
