"""Issue 14, item 1: a small hostile PDF must not freeze the server. Every bomb is refused
(422) within the judge's budget, and /health answers quickly while one is being judged
through a real server."""

from __future__ import annotations

import gc
import json
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from http.client import HTTPConnection
from typing import Any

import pytest

from shared.errors import ServiceBusy, ValidationFailed
from shared.files import DOCUMENT_TYPES, accept
from shared.judge import Budget, Judge
from shared.settings import Settings
from tests.helpers import multipart, pdf_bytes, setup_service, stored, submit
from tests.security.pdf_bombs import deep_nesting, many_tiny_streams, object_stream_bomb
from tests.security.serving import serving

TEN_MIB = 10 << 20
BOMBS: dict[str, Callable[[], bytes]] = {
    "object streams": object_stream_bomb,
    "object streams, 10 MiB": lambda: object_stream_bomb(streams=150),
    "deep nesting": deep_nesting,
    "many tiny streams": many_tiny_streams,
}


def _judge(**limits: Any) -> Judge:
    budget = Budget.of(Settings())
    wall = limits.pop("wall_seconds", budget.wall_seconds)
    return Judge(replace(budget, limits=replace(budget.limits, **limits), wall_seconds=wall))


@pytest.mark.slow
@pytest.mark.parametrize("name", list(BOMBS))
def test_upload_bombs_are_refused_within_the_budget(name: str) -> None:
    data = BOMBS[name]()
    assert len(data) <= TEN_MIB
    judge = _judge()
    started = time.perf_counter()
    with pytest.raises(ValidationFailed) as refused:
        accept("bomba.pdf", data, allowed=DOCUMENT_TYPES, max_bytes=TEN_MIB, judge=judge)
    # The wall-clock bound kills the judge; the margin is for starting and reaping it on
    # a busy machine.
    assert time.perf_counter() - started < judge.budget.wall_seconds + 5
    assert refused.value.status == 422
    assert refused.value.errors == [{"field": "file", "message": refused.value.detail[6:]}]
    assert "more than" in refused.value.detail


def test_upload_bombs_nesting_past_the_interpreters_depth_is_422() -> None:
    with pytest.raises(ValidationFailed, match="nested too deeply"):
        accept("a.pdf", deep_nesting(depth=100_000, repeats=1), allowed=DOCUMENT_TYPES,
               max_bytes=TEN_MIB, judge=_judge())


def test_upload_bombs_a_judge_out_of_memory_is_refused() -> None:
    with pytest.raises(ValidationFailed, match="MiB of memory"):
        accept("a.pdf", deep_nesting(), allowed=DOCUMENT_TYPES, max_bytes=TEN_MIB,
               judge=_judge(memory_bytes=120 << 20, cpu_seconds=30))


def test_upload_bombs_a_judge_past_its_wall_clock_is_killed() -> None:
    started = time.perf_counter()
    with pytest.raises(ValidationFailed, match="more than 1 s,"):
        accept("a.pdf", many_tiny_streams(), allowed=DOCUMENT_TYPES, max_bytes=TEN_MIB,
               judge=_judge(cpu_seconds=60, wall_seconds=1.0))
    # Killed at its wall-clock bound, long before its minute of CPU; the margin is for
    # starting and reaping it on a busy machine, as above.
    assert time.perf_counter() - started < 1.0 + 5


def test_upload_bombs_inflated_bytes_are_counted_across_streams() -> None:
    # Each stream alone is under the budget; together they are not.
    with pytest.raises(ValidationFailed, match="inflate to more than 20 MB"):
        accept("a.pdf", object_stream_bomb(streams=3, inflated=10_000_000),
               allowed=DOCUMENT_TYPES, max_bytes=TEN_MIB, judge=_judge(inflated_bytes=20 * 10**6))


def test_upload_bombs_when_every_judge_is_busy_the_next_file_is_503_not_queued() -> None:
    judge = Judge(replace(Budget.of(Settings()), concurrency=1))
    judge.slots.acquire()  # a file being judged
    try:
        with pytest.raises(ServiceBusy):
            accept("a.pdf", pdf_bytes(), allowed=DOCUMENT_TYPES, max_bytes=TEN_MIB, judge=judge)
    finally:
        judge.slots.release()
    assert accept("a.pdf", pdf_bytes(), allowed=DOCUMENT_TYPES, max_bytes=TEN_MIB,
                  judge=judge).content_type == "application/pdf"


@pytest.mark.slow
@pytest.mark.parametrize("name", ["object streams", "deep nesting", "many tiny streams"])
def test_upload_bombs_health_answers_while_a_bomb_is_judged(make_harness: Any,
                                                            name: str) -> None:
    h = make_harness()
    s = setup_service(h)
    rid = submit(h, s)
    before = stored(h)
    body, ctype = multipart({"key": "rg"}, [("file", "bomba.pdf", BOMBS[name]())])
    answer: dict[str, Any] = {}

    def upload(port: int) -> None:
        conn = HTTPConnection("127.0.0.1", port, timeout=30)
        conn.request("POST", f"/requests/{rid}/documents", body,
                     {"Content-Type": ctype, **s.h("citizen")})
        resp = conn.getresponse()
        answer.update(status=resp.status, ctype=resp.getheader("Content-Type"),
                      doc=json.loads(resp.read()))
        conn.close()

    # As `atende serve` does after starting: what the test process has piled up is kept
    # out of the collector's reach, whose full passes would otherwise stop every thread.
    gc.collect()
    gc.freeze()
    try:
        with serving(h.platform) as port:
            probe = HTTPConnection("127.0.0.1", port, timeout=5)
            probe.request("GET", "/health")  # connected and warm before the attack starts
            probe.getresponse().read()
            uploading = threading.Thread(target=upload, args=(port,))
            uploading.start()
            latencies = []
            while uploading.is_alive():
                started = time.perf_counter()
                probe.request("GET", "/health")
                assert probe.getresponse().read() == b'{"status":"ok"}'
                latencies.append(time.perf_counter() - started)
                time.sleep(0.02)
            uploading.join()
    finally:
        gc.unfreeze()
    assert answer["status"] == 422, answer
    assert answer["ctype"] == "application/problem+json"
    assert answer["doc"]["code"] == "validation" and "more than" in answer["doc"]["detail"]
    assert stored(h) == before
    assert len(latencies) >= 3  # the judging lasted long enough to be probed
    # Liveness is answered throughout, not after the judging: most probes well under the
    # 100 ms the issue asks (the figures are in docs/uploads.md), none held for the
    # judge's budget. Bounds are loose because a loaded CI machine shares its two cores.
    assert sorted(latencies)[len(latencies) // 2] < 0.1, latencies
    assert max(latencies) < 0.5, latencies
