"""`atende dev` and `atende token` as a newcomer runs them."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

from tests.live import REPO, env_for, serving


def token(data_dir: Path, *args: str) -> str:
    out = subprocess.run([sys.executable, "-m", "infra.cli", "token", *args],
                         env=env_for(data_dir, "memory://"), cwd=REPO, check=True,
                         capture_output=True, text=True).stdout
    lines = out.splitlines()
    assert len(lines) == 1  # alone on one line
    return lines[0]


def test_dev_serves_stops_cleanly_and_tokens_outlive_a_restart(tmp_path: Path) -> None:
    data = tmp_path / "var"
    env = env_for(data, "memory://")
    tok = token(data, "--sub", "r1", "--role", "registrar", "--role", "attendant",
                "--org", "o", "--unit", "u", "--name", "Rita")
    with serving(["dev"], env) as (proc, client):
        assert client.simulate_get("/health").json == {"status": "ok"}
        r = client.simulate_get("/attendants", headers={"Authorization": f"Bearer {tok}"})
        assert r.status_code == 200
        assert client.simulate_get("/attendants").status_code == 401
        proc.popen.send_signal(signal.SIGINT)
        assert proc.popen.wait(15) == 0
    with serving(["dev"], env) as (_, client):
        r = client.simulate_get("/attendants", headers={"Authorization": f"Bearer {tok}"})
        assert r.status_code == 200


def test_token_with_a_foreign_secret_is_refused(tmp_path: Path) -> None:
    foreign = token(tmp_path / "other", "--sub", "x", "--role", "registrar", "--org", "o")
    with serving(["dev"], env_for(tmp_path / "var", "memory://")) as (_, client):
        r = client.simulate_get("/attendants", headers={"Authorization": f"Bearer {foreign}"})
        assert r.status_code == 401
        assert r.headers["content-type"] == "application/problem+json"
