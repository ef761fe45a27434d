"""A command that the previous answer made possible never fails for timing: a follow-up and
a meeting right after the approval, a review right after the conclusion, with no wait in
between, many times over, half with the ETag the enabling answer gave (If-Match) and half
without.

The broker is the embedded one unless ``ATENDE_RYW_BROKER_URL`` names another, e.g.::

    ATENDE_RYW_BROKER_URL=redis://127.0.0.1:6379/6 pytest tests/ops/test_read_your_writes.py
    ATENDE_RYW_BROKER_URL=amqp://guest:guest@127.0.0.1:5672/%2F pytest tests/ops/...

(a Redis database, or a RabbitMQ vhost, of the test's own: the workers here consume
whatever is on the services' queues). ``ATENDE_RYW_ROUNDS`` sets how many rounds.
"""

from __future__ import annotations

import os
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from shared.errors import Forbidden, InvalidTransition, NotFound, ValidationFailed, ViewBehind
from shared.freshness import may_catch_up
from shared.preconditions import Expected
from tests.helpers import STEPS, Setup, setup_service, submit

BROKER = os.environ.get("ATENDE_RYW_BROKER_URL", "memory://")
ROUNDS = int(os.environ.get("ATENDE_RYW_ROUNDS", "200"))
THREADS = 4


def _round(h: Any, s: Setup, n: int, failures: list[str]) -> None:
    rid = submit(h, s)
    c = h.client
    r = c.simulate_post(f"/requests/{rid}/analysis", headers=s.h("analyst"))
    assert r.status_code == 200, r.text
    for step in STEPS:
        r = c.simulate_put(f"/requests/{rid}/steps/{step['key']}", headers=s.h("analyst"),
                           json={"ok": True})
        assert r.status_code == 200, r.text
    r = c.simulate_post(f"/requests/{rid}/approval", headers=s.h("analyst"),
                        json={"assignee": s.subs["assignee"]})
    assert r.status_code == 200, r.text
    etag = {"If-Match": r.headers["etag"]} if n % 2 else {}
    r = c.simulate_post(f"/requests/{rid}/followups", headers=s.h("assignee", **etag),
                        json={"body": "Bom dia, recebemos o seu pedido."})
    if r.status_code != 201:
        failures.append(f"follow-up {r.status_code} {r.text}")
    # One assignee per thread, a meeting of theirs every two hours: never overlapping.
    starts = (datetime.now(UTC) + timedelta(days=1, hours=2 * n)).isoformat()
    r = c.simulate_post(f"/requests/{rid}/meetings", headers=s.h("assignee", **etag),
                        json={"starts_at": starts, "subject": "Conversa"})
    if r.status_code != 201:
        failures.append(f"meeting {r.status_code} {r.text}")
    r = c.simulate_post(f"/requests/{rid}/conclusion", headers=s.h("assignee"),
                        json={"summary": "Concluído."})
    assert r.status_code == 200, r.text
    etag = {"If-Match": r.headers["etag"]} if n % 2 else {}
    r = c.simulate_post(f"/requests/{rid}/review", headers=s.h("citizen", **etag),
                        json={"verdict": "approved", "rating": 5})
    if r.status_code != 201:
        failures.append(f"review {r.status_code} {r.text}")


@pytest.mark.slow
def test_commands_right_after_the_enabling_one_never_fail(make_harness: Any) -> None:
    overrides: dict[str, Any] = {"view_wait_seconds": 3.0}
    if BROKER != "memory://":
        overrides.update(broker_url=BROKER, environment="ops-ryw")
    h = make_harness(**overrides)
    setups = [setup_service(h, unit=f"ryw-{i}") for i in range(THREADS)]
    failures: list[str] = []
    errors: list[BaseException] = []

    def run(start: int) -> None:
        try:
            for n in range(start, ROUNDS, THREADS):
                _round(h, setups[start], n, failures)
        except BaseException as exc:  # an assertion in a thread: report it in the test
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors[0]
    assert failures == [], f"{len(failures)} of {3 * ROUNDS} failed: {failures[:5]}"


def test_a_view_that_does_not_catch_up_is_409_view_behind_with_retry_after(
        make_harness: Any) -> None:
    h = make_harness(view_wait_seconds=0.2)
    s = setup_service(h)
    rid = submit(h, s)
    h.drain()
    r = h.client.simulate_post(f"/requests/{rid}/followups",
                               headers=s.h("citizen", **{"If-Match": '"99"'}),
                               json={"body": "Olá"})
    assert r.status_code == 409, r.text
    assert r.json["code"] == "view_behind"
    assert r.headers["retry-after"] == "1"


def test_with_a_current_if_match_a_real_refusal_is_answered_at_once(make_harness: Any) -> None:
    import time

    h = make_harness(view_wait_seconds=5.0)
    s = setup_service(h)
    rid = submit(h, s)
    h.drain()
    started = time.monotonic()
    r = h.client.simulate_post(f"/requests/{rid}/followups",
                               headers=s.h("citizen", **{"If-Match": '"1"'}),
                               json={"body": "Olá"})
    assert r.status_code == 409 and r.json["code"] == "invalid_transition", r.text
    assert time.monotonic() - started < 1.0


@pytest.mark.parametrize(("header", "version"), [
    (None, None), ('"3"', 3), ('W/"4"', 4), ('"2", "7"', 7), ("*", None), ('"abc"', None)])
def test_if_match_names_the_version_seen(header: str | None, version: int | None) -> None:
    assert Expected.parse(header).newest == version


def test_only_refusals_a_newer_view_could_lift_wait() -> None:
    assert may_catch_up(NotFound("x"), None)
    assert may_catch_up(InvalidTransition("x"), (2, "in_analysis"))
    assert may_catch_up(Forbidden("x"), (5, "in_service"))
    assert not may_catch_up(Forbidden("x"), (2, "in_analysis"))
    assert not may_catch_up(InvalidTransition("x"), (9, "concluded"))
    assert not may_catch_up(InvalidTransition("x"), (3, "rejected"))
    assert not may_catch_up(ValidationFailed("x"), (5, "in_service"))
    assert not may_catch_up(NotFound("x"), (5, "in_service"))
    assert ViewBehind("x", retry_after=2).retry_after == 2
