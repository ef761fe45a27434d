"""Real processes for end-to-end tests: start `atende` commands, talk HTTP to them with the
same calls as falcon's TestClient, so one flow helper drives both."""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass
class LiveResult:
    status_code: int
    headers: dict[str, str]
    content: bytes

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", "replace")

    @property
    def json(self) -> Any:
        return json.loads(self.content) if self.content else None


class LiveClient:
    def __init__(self, base: str) -> None:
        self.base = base.rstrip("/")

    def simulate_request(self, method: str, path: str, *, json: Any = None, body: Any = None,
                         headers: dict[str, str] | None = None,
                         params: dict[str, Any] | None = None, **_: Any) -> LiveResult:
        import json as _json

        hdrs = dict(headers or {})
        data: bytes | None = None
        if json is not None:
            data = _json.dumps(json).encode()
            hdrs.setdefault("Content-Type", "application/json")
        elif body is not None:
            data = body.encode() if isinstance(body, str) else body
        url = self.base + path
        if params:
            url += "?" + urllib.parse.urlencode(params, doseq=True)
        req = urllib.request.Request(url, data=data, method=method, headers=hdrs)
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:
                return LiveResult(resp.status, {k.lower(): v for k, v in resp.headers.items()},
                                  resp.read())
        except urllib.error.HTTPError as err:
            return LiveResult(err.code, {k.lower(): v for k, v in err.headers.items()},
                              err.read())

    def __getattr__(self, name: str) -> Any:
        if name.startswith("simulate_"):
            method = name.removeprefix("simulate_").upper()
            return lambda path, **kw: self.simulate_request(method, path, **kw)
        raise AttributeError(name)


class Proc:
    """One `atende` subcommand as a child process, its output collected line by line."""

    def __init__(self, args: list[str], env: dict[str, str], cwd: Path) -> None:
        self.args = args
        self.lines: queue.Queue[str] = queue.Queue()
        self.log: list[str] = []
        self.popen = subprocess.Popen(
            [sys.executable, "-m", "infra.cli", *args], env=env, cwd=cwd,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            start_new_session=True,
        )
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        assert self.popen.stdout is not None
        for line in self.popen.stdout:
            self.log.append(line)
            self.lines.put(line)

    def wait_for(self, marker: str, timeout: float = 30) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=0.2)
            except queue.Empty:
                if self.popen.poll() is not None:
                    break
                continue
            if marker in line:
                return line
        raise RuntimeError(f"{self.args[0]} did not say {marker!r}:\n{''.join(self.log)[-4000:]}")

    def kill(self) -> None:
        """SIGKILL: no cleanup, as in a crash."""
        if self.popen.poll() is None:
            # It may die on its own in between (a worker a poison message takes down).
            with suppress(ProcessLookupError):
                os.killpg(self.popen.pid, signal.SIGKILL)
        self.popen.wait(10)

    def stop(self) -> int:
        if self.popen.poll() is None:
            os.killpg(self.popen.pid, signal.SIGTERM)
            try:
                self.popen.wait(15)
            except subprocess.TimeoutExpired:
                self.kill()
        return self.popen.returncode


REPO = Path(__file__).resolve().parents[1]


def env_for(data_dir: Path, broker_url: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ATENDE_")}
    env.update({"ATENDE_DATA_DIR": str(data_dir), "ATENDE_BROKER_URL": broker_url,
                "ATENDE_OUTBOX_SWEEP_SECONDS": "0.5", "ATENDE_OUTBOX_REDELIVER_SECONDS": "3",
                "ATENDE_LOG_LEVEL": "WARNING",
                # Test rigs sign their tokens with the dev secret: said so on purpose.
                "ATENDE_ALLOW_DEV_TOKENS": "true", **extra})
    return env


@contextmanager
def serving(args: list[str], env: dict[str, str]) -> Iterator[tuple[Proc, LiveClient]]:
    proc = Proc([*args, "--host", "127.0.0.1", "--port", "0"], env, REPO)
    try:
        line = proc.wait_for("listening on")
        yield proc, LiveClient(line.strip().rsplit(" ", 1)[-1])
    finally:
        proc.stop()


class LiveHarness:
    """What tests/helpers.py needs of a harness, over real HTTP to real processes."""

    def __init__(self, client: LiveClient, data_dir: Path) -> None:
        from shared.identity import dev_secret
        from shared.settings import Settings

        self.client = client
        self.settings = Settings(data_dir=data_dir)
        self.secret = dev_secret(self.settings)

    def token(self, sub: str, *roles: str, org: str | None = None, unit: str | None = None,
              name: str | None = None, email: str | None = None, ttl: int = 3600) -> str:
        from shared.identity import mint

        return mint(self.secret, sub=sub, roles=list(roles) or ["citizen"], org=org, unit=unit,
                    name=name or sub.title(), email=email, ttl=ttl,
                    issuer=self.settings.jwt_issuer, audience=self.settings.jwt_audience)

    def auth(self, token: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {token}"}

    def drain(self, rounds: int = 0) -> None:
        """Processes work on their own; tests wait with ``eventually`` instead."""


def eventually(check: Any, timeout: float = 20.0, every: float = 0.1) -> Any:
    """Poll ``check`` until it returns a truthy value (or stops raising AssertionError)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            result = check()
            if result:
                return result
        except AssertionError:
            if time.monotonic() > deadline:
                raise
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s")
        time.sleep(every)
