"""The processes a suite measures: ``atende`` subcommands and the bench's own baselines,
each with its output in a log file (a full pipe would stall a busy server)."""

from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def env_for(data_dir: Path, broker_url: str = "memory://", **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ATENDE_")}
    env |= {"ATENDE_DATA_DIR": str(data_dir), "ATENDE_BROKER_URL": broker_url,
            "ATENDE_LOG_LEVEL": "INFO", "PYTHONUNBUFFERED": "1",
            # The bench signs its tokens with the dev secret: said so on purpose.
            "ATENDE_ALLOW_DEV_TOKENS": "true", **extra}
    return env


_PINNED = ("import os, sys; "
           "os.sched_setaffinity(0, {int(c) for c in sys.argv[1].split(',')}); "
           "os.execvp(sys.argv[2], sys.argv[2:])")


class Proc:
    def __init__(self, args: list[str], env: dict[str, str], log: Path,
                 cpus: frozenset[int] | None = None) -> None:
        """``cpus``: the process runs on these CPUs only, and so do the threads it starts."""
        self.log = log
        log.parent.mkdir(parents=True, exist_ok=True)
        self._out = log.open("wb")
        # In the bench's own process group: whoever stops the bench by its group (Ctrl-C,
        # a test's timeout) stops these too, and none is left consuming the bench's queues.
        if cpus is not None:  # pinned by a first interpreter that then becomes the command
            # (not by preexec_fn, which may deadlock in a parent with threads, as --quick's)
            args = [sys.executable, "-c", _PINNED, ",".join(map(str, sorted(cpus))), *args]
        self.popen = subprocess.Popen(args, env=env, stdout=self._out,
                                      stderr=subprocess.STDOUT)

    @classmethod
    def python(cls, module: str, *args: str, env: dict[str, str], log: Path,
               cpus: frozenset[int] | None = None) -> Proc:
        return cls([sys.executable, "-m", module, *args], env, log, cpus)

    def wait_http(self, port: int, timeout: float = 30.0) -> None:
        self._wait(lambda: _answers(port), timeout, f"HTTP on port {port}")

    def wait_port(self, port: int, timeout: float = 30.0) -> None:
        self._wait(lambda: _listens(port), timeout, f"a listener on port {port}")

    def wait_output(self, text: str, timeout: float = 30.0) -> None:
        self._wait(lambda: text in self.log.read_text(errors="replace"), timeout, repr(text))

    def _wait(self, ready: Any, timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.popen.poll() is not None:
                raise RuntimeError(f"process exited before {what}: {self.tail()}")
            if ready():
                return
            time.sleep(0.02)
        raise TimeoutError(f"no {what} after {timeout}s: {self.tail()}")

    def tail(self) -> str:
        return self.log.read_text(errors="replace")[-2000:]

    def stop(self) -> None:
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(10)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait()
        self._out.close()

    def __enter__(self) -> Proc:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _listens(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def _answers(port: int) -> bool:
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
        conn.request("GET", "/health")
        ok = conn.getresponse().status == 200
        conn.close()
        return ok
    except OSError:
        return False


def atende(*args: str, env: dict[str, str], log: Path,
           cpus: frozenset[int] | None = None) -> Proc:
    return Proc.python("infra.cli", *args, env=env, log=log, cpus=cpus)


def launch_platform(data_dir: Path, logs: Path, name: str, *,
                    broker_url: str = "memory://", http_only: bool = False,
                    extra: dict[str, str] | None = None,
                    cpus: frozenset[int] | None = None) -> tuple[Proc, int]:
    """``atende dev`` (or ``serve``, when workers run apart) on a free port, starting;
    ``extra``: more settings (the store's, for PostgreSQL); ``cpus``: pinned to these."""
    port = free_port()
    proc = atende("serve" if http_only else "dev", "--port", str(port), "--data-dir",
                  str(data_dir), env=env_for(data_dir, broker_url, **(extra or {})),
                  log=logs / f"{name}.log", cpus=cpus)
    return proc, port


def serve_platform(data_dir: Path, logs: Path, name: str, *, broker_url: str = "memory://",
                   http_only: bool = False, extra: dict[str, str] | None = None,
                   cpus: frozenset[int] | None = None) -> tuple[Proc, int]:
    """``launch_platform``, once it answers."""
    proc, port = launch_platform(data_dir, logs, name, broker_url=broker_url,
                                 http_only=http_only, extra=extra, cpus=cpus)
    try:
        proc.wait_http(port, 60)
    except BaseException:
        proc.stop()
        raise
    return proc, port


def start_worker(data_dir: Path, logs: Path, name: str, broker_url: str,
                 extra: dict[str, str] | None = None) -> Proc:
    """``atende worker`` on the bench store, once it runs."""
    proc = atende("worker", "--data-dir", str(data_dir),
                  env=env_for(data_dir, broker_url, **(extra or {})), log=logs / f"{name}.log")
    try:
        proc.wait_output("worker running", 60)
    except BaseException:
        proc.stop()
        raise
    return proc
