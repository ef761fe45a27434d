"""Long-running processes as an operator meets them: what they say at start-up, the
worker's own metrics port, and a graceful stop that lets the requests in flight finish."""

from __future__ import annotations

import json
import signal
import socket
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from tests.live import REPO, LiveClient, LiveHarness, Proc, env_for

DOWN = "redis://127.0.0.1:1/6"  # nothing listens on port 1: a broker that is down


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_dev_without_demo_says_how_to_get_a_token(tmp_path: Path) -> None:
    proc = Proc(["dev", "--port", "0"], env_for(tmp_path / "var", "memory://"), REPO)
    try:
        first = proc.wait_for("Atende dev:")
        assert "broker memory (in-process)" in first and "store sqlite" in first
        line = proc.wait_for("atende token")
        assert "--role attendant" in line and "--demo" in line
        proc.wait_for("listening on")
    finally:
        assert proc.stop() == 0
    assert "Atende dev stopped" in "".join(proc.log)


def test_a_worker_names_its_broker_warns_once_and_serves_its_metrics(tmp_path: Path) -> None:
    port = _free_port()
    env = env_for(tmp_path / "var", DOWN, ATENDE_METRICS_PORT=str(port),
                  ATENDE_LOG_LEVEL="INFO")
    proc = Proc(["worker"], env, REPO)
    try:
        first = proc.wait_for("Atende worker:")
        assert "broker redis (redis://127.0.0.1:1/6)" in first
        assert "does not answer" in proc.wait_for("warning:")
        proc.wait_for("metrics on")
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as r:
            assert b"atende_outbox_pending" in r.read()
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/health/ready", timeout=10)
            raise AssertionError("ready with its broker down")
        except urllib.error.HTTPError as err:
            assert err.code == 503
            assert json.loads(err.read())["failing"] == ["broker"]
        time.sleep(4)  # several reconnection rounds of every consumer
    finally:
        assert proc.stop() == 0
    out = "".join(proc.log)
    assert out.count("does not answer") == 1
    assert out.count("broker connection lost") == 1
    assert "Consumer encountered a connection error" not in out


def test_serve_stops_gracefully_letting_a_request_in_flight_finish(tmp_path: Path) -> None:
    env = env_for(tmp_path / "var", "memory://", ATENDE_VIEW_WAIT_SECONDS="2")
    proc = Proc(["dev", "--port", "0"], env, REPO)
    base = proc.wait_for("listening on").strip().rsplit(" ", 1)[-1]
    h = LiveHarness(LiveClient(base), tmp_path / "var")
    token = h.token("ana", "citizen")
    answers: list[Any] = []

    def slow() -> None:
        # A view that never reaches version 99: the command waits its whole bound.
        answers.append(h.client.simulate_post(
            "/requests/nope/followups", json={"body": "Olá"},
            headers={**h.auth(token), "If-Match": '"99"'}))

    caller = threading.Thread(target=slow)
    caller.start()
    time.sleep(0.5)
    proc.popen.send_signal(signal.SIGTERM)
    proc.wait_for("stopping")
    time.sleep(0.3)
    try:
        urllib.request.urlopen(base + "/health", timeout=2)
        raise AssertionError("still taking connections after SIGTERM")
    except (urllib.error.URLError, ConnectionError):
        pass
    caller.join(10)
    assert answers and answers[0].status_code == 409, answers
    assert answers[0].json["code"] == "view_behind"
    assert proc.popen.wait(15) == 0
    out = "".join(proc.log)
    assert "Atende dev stopped" in out and "cut short" not in out and "Traceback" not in out
