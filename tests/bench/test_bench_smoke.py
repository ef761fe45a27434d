"""The quick benchmark, end to end: every suite runs on this machine (Redis and RabbitMQ
included) and reports every row. Its figures are not judged here: timing is not a test."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from infra.bench import wrk
from infra.bench.cold import handler_modules
from tests.helpers import SHARED_SERVERS

pytestmark = pytest.mark.brokers

HTTP = ["bare falcon GET /", "panel", "console panel", "detail", "console detail", "catalog",
        "followup", "naive twin POST", "followup vs naive twin",
        "followup vs twin, worker applying"]
ROWS = [*HTTP, "console first load",
        "command→effect (memory)", "command→effect (redis)", "command→effect (rabbitmq)",
        "no-op actor (redis)", "atende worker (redis)", "no-op actor (rabbitmq)",
        "no-op actor (rabbitmq, stock Dramatiq)", "atende worker (rabbitmq)",
        "panel p50, 20 requests", "panel p50, 200 requests",
        "timeline p50, 10 entries", "timeline p50, 30 entries",
        "panel p50, 20 requests (postgres)", "panel p50, 200 requests (postgres)",
        "command→effect (postgres+rabbitmq)",
        "first answer, twin (http)", "first answer, twin (sqs)"]
JUDGED = {"panel", "console panel", "console first load", "detail", "console detail",
          "followup vs naive twin", "command→effect (redis)", "command→effect (rabbitmq)",
          "atende worker (redis)", "atende worker (rabbitmq)",
          "panel p50, 200 requests", "panel p50, 200 requests (postgres)",
          "command→effect (postgres+rabbitmq)"}


@SHARED_SERVERS  # PostgreSQL among its suites
@pytest.mark.timeout(240)  # a hang guard, loose: the bench shares the cores with other workers
def test_quick_bench_prints_every_row_and_writes_json(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    # A group of its own, so that a bench cut short takes its servers and workers with it.
    bench = subprocess.Popen([sys.executable, "-m", "infra.cli", "bench", "--quick", "--out",
                              str(out), "--work-dir", str(tmp_path / "work")],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             start_new_session=True)
    try:
        stdout, stderr = bench.communicate(timeout=220)
    finally:
        if bench.poll() is None:
            os.killpg(bench.pid, signal.SIGKILL)
            bench.wait()
    assert bench.returncode == 0, stderr[-3000:]
    cold = [f"first answer, {m.rsplit('.', 1)[1]}" for m in handler_modules()]
    expected = ROWS + cold
    table = stdout.splitlines()
    for name in expected:
        assert any(line[8:].startswith(name) for line in table), (name, stdout)
    result = json.loads(out.read_text())
    rows = {r["name"]: r for r in result["rows"]}
    assert sorted(rows) == sorted(expected)
    assert result["quick"] is True and result["machine"]["cores"] >= 1
    assert len(result["load"]) == 2 and result["suites"] == [] and result["pin_http"] is None
    for name in expected:  # every measure produced a figure, with no failed request
        row = rows[name]
        assert row.get("rps") or row.get("p50_ms"), row
        assert not row.get("errors") and not row.get("missing") and not row.get("failed"), row
    # wrk where it is installed (.ci/run installs it), the Python generator where not.
    assert result["load_generator"] == ("wrk" if wrk.available() else "python")
    assert {rows[n]["generator"] for n in HTTP} == {result["load_generator"]}
    assert rows["console first load"]["bytes"] > 0
    # Each round's ratio, against its own baseline.
    for name in ("panel", "console panel", "detail", "console detail", "catalog"):
        assert len(rows[name]["rounds"]) == result["sizes"]["rounds"], rows[name]
    for name in JUDGED | set(cold):
        assert rows[name]["verdict"] in ("PASS", "MISS") and rows[name]["target"], rows[name]
    # The RabbitMQ worker is also given against Dramatiq's own no-op, as information.
    stock = rows["no-op actor (rabbitmq, stock Dramatiq)"]["rps"]
    assert rows["atende worker (rabbitmq)"]["stock_ratio"] == pytest.approx(
        rows["atende worker (rabbitmq)"]["rps"] / stock)


def test_handler_modules_are_found() -> None:
    modules = handler_modules()
    assert "infra.aws.http_requests" in modules and "infra.aws.worker" in modules
    assert "infra.aws.runtime" not in modules and "infra.aws.http" not in modules


def test_suite_runs_only_the_suites_named(monkeypatch: pytest.MonkeyPatch,
                                          tmp_path: Path) -> None:
    from infra.bench import cold, effect, growth, httpbench, pgbench, run, workers

    ran: list[str] = []

    def fake(name: str) -> object:
        def suite(*args: object, **kwargs: object) -> object:
            ran.append(name)
            row = {"suite": name, "name": name, "p50_ms": 1.0}
            return row if name == "effect" else [row]
        return suite

    for module, name in ((httpbench, "http"), (effect, "effect"), (workers, "worker"),
                         (pgbench, "postgres"), (growth, "growth"), (cold, "cold")):
        monkeypatch.setattr(module, "run", fake(name))
    rows = run.bench(tmp_path, run.QUICK, quick=False, chosen=("http", "worker"))
    assert sorted(ran) == ["http", "worker", "worker"]  # Redis's and RabbitMQ's
    assert [r["suite"] for r in rows] == ["http", "worker", "worker"]
    ran.clear()
    assert len(run.bench(tmp_path, run.QUICK, quick=False)) == 1 + 3 + 2 + 1 + 1 + 1
    assert sorted(set(ran)) == sorted(["cold", "effect", "growth", "http", "postgres",
                                       "worker"])
