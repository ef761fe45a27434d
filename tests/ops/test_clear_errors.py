"""Operator mistakes and missing preconditions: one line naming the cause and the fix, no
traceback, exit status 2; and what the operator is told about refused tokens, oversized
bodies and malformed JSON."""

from __future__ import annotations

import logging
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from shared.errors import Unauthorized
from shared.health import Throttled
from shared.identity import mint
from tests.live import REPO, Proc, env_for


def _atende(args: list[str], env: dict[str, str], timeout: float = 60) -> tuple[int, str, str]:
    done = subprocess.run([sys.executable, "-m", "infra.cli", *args], env=env, cwd=REPO,
                          capture_output=True, text=True, timeout=timeout)
    return done.returncode, done.stdout, done.stderr


def _one_line(rc: int, out: str, err: str) -> str:
    assert rc == 2, (rc, out, err)
    assert "Traceback" not in out + err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("atende: ")
    return lines[0]


def test_port_in_use_is_one_line_before_any_token_or_demo(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        rc, out, err = _atende(["dev", "--demo", "--port", str(port)],
                               env_for(tmp_path / "var", "memory://"))
    line = _one_line(rc, out, err)
    assert f"port {port}" in line and "--port" in line
    assert "eyJ" not in out and "Demo" not in out  # no token, no demo data printed


@pytest.mark.parametrize(("var", "value", "says"), [
    ("ATENDE_MAX_FILE_BYTES", "abc", "integer"),
    ("ATENDE_BROKER_URL", "redsi://x", "unsupported broker 'redsi'"),
    ("ATENDE_HTTP_THREADS", "0", "greater than or equal to 1"),
])
def test_a_bad_setting_is_one_line_naming_it_and_an_example(tmp_path: Path, var: str,
                                                             value: str, says: str) -> None:
    env = env_for(tmp_path / "var", "memory://")
    env[var] = value
    line = _one_line(*_atende(["dev", "--port", "0"], env))
    assert line.startswith(f"atende: {var}={value}: ")
    assert says in line
    assert f"(for example {var}=" in line


def test_a_bad_broker_url_keeps_its_password_off_the_screen(tmp_path: Path) -> None:
    env = env_for(tmp_path / "var", "amqx://user:s3cret@rabbit:5672/")
    line = _one_line(*_atende(["token", "--sub", "x"], env))
    assert "s3cret" not in line and "ATENDE_BROKER_URL" in line


def test_a_second_dev_on_the_same_data_dir_is_refused_naming_the_first(tmp_path: Path
                                                                       ) -> None:
    env = env_for(tmp_path / "var", "memory://")
    first = Proc(["dev", "--port", "0"], env, REPO)
    try:
        first.wait_for("listening on")
        line = _one_line(*_atende(["dev", "--port", "0"], env))
        assert f"pid {first.popen.pid}" in line and str(tmp_path / "var") in line
        assert "--data-dir" in line
    finally:
        assert first.stop() == 0
    # The lock goes with its process: a new dev starts.
    again = Proc(["dev", "--port", "0"], env, REPO)
    try:
        again.wait_for("listening on")
    finally:
        again.stop()


def test_dev_is_refused_beside_the_processes_of_a_split_deployment(tmp_path: Path) -> None:
    env = env_for(tmp_path / "var", "memory://")
    serve = Proc(["serve", "--port", "0"], env, REPO)
    try:
        serve.wait_for("listening on")
        line = _one_line(*_atende(["dev", "--port", "0"], env))
        assert f"atende serve, pid {serve.popen.pid}" in line
    finally:
        assert serve.stop() == 0


def test_a_worker_refuses_the_in_process_broker(tmp_path: Path) -> None:
    line = _one_line(*_atende(["worker"], env_for(tmp_path / "var", "memory://")))
    assert "memory://" in line and "ATENDE_BROKER_URL" in line and "atende dev" in line


def test_ops_create_without_aws_credentials_is_one_line(tmp_path: Path) -> None:
    env = {k: v for k, v in env_for(tmp_path / "var", "sqs://").items()
           if not k.startswith("AWS_")}
    env.update(AWS_CONFIG_FILE=str(tmp_path / "none"),
               AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "none"),
               AWS_EC2_METADATA_DISABLED="true", ATENDE_TABLE_BACKEND="dynamodb")
    line = _one_line(*_atende(["ops", "create"], env, timeout=120))
    assert "no AWS credentials" in line and "AWS_ACCESS_KEY_ID" in line


def test_ops_on_a_data_dir_that_does_not_exist_is_refused_not_created(tmp_path: Path
                                                                      ) -> None:
    missing = tmp_path / "typo"
    line = _one_line(*_atende(["ops", "lag", "--data-dir", str(missing)],
                              env_for(tmp_path / "var", "memory://")))
    assert str(missing) in line and "does not exist" in line
    assert not missing.exists()


def test_a_failure_that_recurs_is_logged_once_a_period(caplog: Any) -> None:
    throttled = Throttled(logging.getLogger("atende.test"), period=60)
    with caplog.at_level(logging.WARNING, logger="atende.test"):
        said = [throttled.warning("k", "broker down") for _ in range(500)]
    assert said.count(True) == 1
    assert len(caplog.records) == 1


def test_a_broker_that_is_down_costs_the_outbox_one_line_a_period(harness: Any,
                                                                  caplog: Any) -> None:
    from shared.outbox import Relay

    class Down:
        def enqueue(self, message: Any) -> None:
            raise ConnectionError("Error 111 connecting to 127.0.0.1:6379")

    relay = Relay(Down(), harness.platform.clock, durable=True, repeat_seconds=60)
    entry = {"sk": "x", "service": "followups", "event": {}, "version": 1}
    with caplog.at_level(logging.WARNING, logger="atende.outbox"):
        for _ in range(200):
            assert relay.deliver(harness.table("requests"), [entry]) == (0, False)
    lines = [r for r in caplog.records if r.name == "atende.outbox"]
    assert len(lines) == 1 and "will retry" in lines[0].getMessage()


def test_dramatiq_reconnection_lines_come_once_a_period() -> None:
    from infra.process import RepeatFilter

    f = RepeatFilter(period=60)
    consumer = logging.getLogger("dramatiq.worker.ConsumerThread(requests-events)")
    kept = [f.filter(consumer.makeRecord(consumer.name, logging.CRITICAL, "", 0,
                                         "Consumer encountered a connection error: %s",
                                         ("refused",), None)) for _ in range(100)]
    assert not any(kept)  # replaced by the throttled line of atende.broker
    other = consumer.makeRecord(consumer.name, logging.INFO, "", 0, "Worker started", (), None)
    assert f.filter(other)


# --- what the operator is told over HTTP --------------------------------------------


def _refused(h: Any, token: str, caplog: Any) -> str:
    with caplog.at_level(logging.INFO, logger="atende.auth"):
        r = h.client.simulate_get("/requests", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 401 and r.json["detail"] == "invalid or expired token"
    lines = [rec for rec in caplog.records if rec.name == "atende.auth"]
    assert len(lines) == 1
    caplog.clear()
    assert token not in str(lines[0].__dict__)
    return lines[0].fields["reason"]


def test_a_refused_token_logs_why_without_the_token(harness: Any, caplog: Any) -> None:
    s = harness.platform.settings
    ok = {"sub": "x", "roles": ["citizen"], "audience": s.jwt_audience}
    assert _refused(harness, mint(harness.secret, issuer=s.jwt_issuer, ttl=-120, **ok),
                    caplog) == "expired"
    assert _refused(harness, mint("another-secret-of-32-bytes-or-more!", issuer=s.jwt_issuer,
                                  **ok), caplog) == "bad signature"
    assert _refused(harness, mint(harness.secret, issuer="someone-else", **ok),
                    caplog) == "wrong issuer"
    assert _refused(harness, "not.a.token", caplog) == "malformed token"


def test_an_unknown_signing_key_is_named(monkeypatch: Any, caplog: Any) -> None:
    import jwt

    from shared.identity import Verifier

    v = Verifier(issuer="i", audience="a", jwks_url="https://idp.invalid/jwks.json")

    def no_such_key(token: str) -> Any:
        raise jwt.PyJWKClientError("Unable to find a signing key that matches: 'k9'")

    monkeypatch.setattr(v._jwks, "get_signing_key_from_jwt", no_such_key)
    with caplog.at_level(logging.INFO, logger="atende.auth"), pytest.raises(Unauthorized):
        v.verify("e30.e30.sig")
    assert [r.fields["reason"] for r in caplog.records] == ["unknown key"]


def test_413_names_the_cap_in_mib_and_its_setting(make_harness: Any) -> None:
    h = make_harness(max_json_bytes=64 * 1024)
    token = h.token("ana", "citizen")
    r = h.client.simulate_post("/requests", headers={**h.auth(token),
                               "Content-Type": "application/json"}, body=b" " * 70_000)
    assert r.status_code == 413
    assert r.json["detail"] == ("the body is larger than the 0.062 MiB (64 KiB) cap "
                                "(ATENDE_MAX_JSON_BYTES)")


def test_a_json_syntax_error_says_where(harness: Any) -> None:
    token = harness.token("ana", "citizen")
    r = harness.client.simulate_post(
        "/requests", headers={**harness.auth(token), "Content-Type": "application/json"},
        body=b'{"service_id": "x",\n "answers": {"a" 1}}')
    assert r.status_code == 400
    assert r.json["detail"] == ("body is not valid JSON: Expecting ':' delimiter at line 2, "
                                "column 18")

