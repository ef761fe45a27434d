"""`atende ops create` and `atende dev` on PostgreSQL, as an operator runs them: the schema
made once and idempotently, the platform served from it, and a store that cannot be used
told in one line naming the cause and the fix."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import psycopg

from shared.tables.postgres_schema import LATEST
from tests.helpers import SHARED_SERVERS, approve, conclude, setup_service, submit
from tests.live import REPO, LiveHarness, env_for, eventually, serving
from tests.postgres.scratch import scratch_database

pytestmark = SHARED_SERVERS


def _atende(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "infra.cli", *args], env=env, cwd=REPO,
                          capture_output=True, text=True, timeout=60)


def _pg_env(data: Path, url: str) -> dict[str, str]:
    return env_for(data, "memory://", ATENDE_TABLE_BACKEND="postgres",
                   ATENDE_DATABASE_URL=url)


def test_ops_create_migrates_once_then_finds_nothing_to_do(tmp_path: Path) -> None:
    with scratch_database() as url:
        env = _pg_env(tmp_path / "var", url)
        first = _atende(env, "ops", "create")
        assert first.returncode == 0, first.stderr
        assert first.stdout.count("created table") == 5 * LATEST  # four services, the console
        again = _atende(env, "ops", "create")
        assert again.returncode == 0 and "nothing to create" in again.stdout


def test_dev_runs_the_whole_platform_on_postgres(tmp_path: Path) -> None:
    data = tmp_path / "var"
    with scratch_database() as url:
        env = _pg_env(data, url)
        with serving(["dev"], env) as (proc, client):  # the first start makes the schema
            h = LiveHarness(client, data)
            s = setup_service(h)
            rid = submit(h, s)
            approve(h, s, rid)
            conclude(h, s, rid)
            # The timeline shows what the other services' consumers applied.
            eventually(lambda: client.simulate_get(f"/requests/{rid}/timeline",
                                                   headers=s.h("citizen")).status_code == 200)
            proc.popen.send_signal(signal.SIGINT)
            assert proc.popen.wait(15) == 0
        with serving(["dev"], env) as (_, client):  # a restart finds its data
            r = client.simulate_get(f"/requests/{rid}", headers=s.h("citizen"))
            assert r.status_code == 200 and r.json["status"] == "concluded"
        with psycopg.connect(url) as conn:
            assert conn.execute("SELECT count(*) FROM requests").fetchone()[0] > 0
        assert not (data / "atende.db").exists()


def test_a_store_that_cannot_be_used_is_one_line(tmp_path: Path) -> None:
    env = _pg_env(tmp_path / "var", "postgresql://atende:s3cret@127.0.0.1:1/atende")
    for args in (["dev", "--port", "0"], ["ops", "create"], ["worker"]):
        if args == ["worker"]:  # a worker needs a real broker before it needs the store
            env = {**env, "ATENDE_BROKER_URL": "redis://127.0.0.1:6379/7"}
        out = _atende(env, *args)
        assert out.returncode == 2, (args, out.stdout, out.stderr)  # an operator's error
        lines = out.stderr.strip().splitlines()
        assert len(lines) == 1 and "ATENDE_DATABASE_URL" in lines[0], out.stderr
        assert "s3cret" not in out.stderr and "Traceback" not in out.stderr
    env.pop("ATENDE_DATABASE_URL")
    out = _atende(env, "serve", "--port", "0")
    assert out.returncode == 2 and "ATENDE_DATABASE_URL is not set" in out.stderr
    with scratch_database() as url:
        env = _pg_env(tmp_path / "var", url)
        env["ATENDE_DATABASE_MIGRATE"] = "false"
        env["ATENDE_BROKER_URL"] = "redis://127.0.0.1:6379/7"  # a worker needs a real one
        out = _atende(env, "worker")
        assert out.returncode == 2 and "atende ops create" in out.stderr, out.stderr
