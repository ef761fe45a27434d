"""The platform as real processes, for one broker: ``atende serve`` and ``atende worker``
processes on Redis or RabbitMQ (through a cuttable proxy), or one ``atende dev`` on the
embedded default; all sharing one data dir. A supervisor restarts whatever dies, as a
process manager would; ``kill`` is a SIGKILL at a moment of the caller's choosing."""

from __future__ import annotations

import json
import random
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

from tests.faults.proxy import Proxy
from tests.live import REPO, Proc, env_for

CHAOS = "tests.faults.chaos:Chaos"
REDIS_DB = 12  # a Redis db of its own: flushing it touches nobody else's queues


def free_port() -> int:
    """A free port below the ephemeral range. The server keeps this port across kills and
    restarts, and a port the kernel hands out for outgoing connections (a worker's to the
    broker, started at the same moment) could be taken by one and held: seen once, the
    server then failed to bind five times in a row."""
    try:
        low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        low = 32768
    for _ in range(200):
        port = random.randint(max(1024, low - 12000), low - 1)
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Cluster:
    """``store``: settings (ATENDE_*) of a shared store, e.g. PostgreSQL; by default the
    SQLite file under the data dir. ``http`` serve processes, each on a port of its own,
    and ``schedulers`` scheduler processes beside the workers."""

    def __init__(self, kind: str, data_dir: Path, real_url: str, *, workers: int = 2,
                 duplicate: float = 0.3, store: dict[str, str] | None = None, http: int = 1,
                 schedulers: int = 0, redis_db: int = REDIS_DB) -> None:
        self.kind = kind
        self.data_dir = data_dir
        self.store = dict(store or {})
        self.chaos_log = data_dir / "chaos.log"
        self.proxy: Proxy | None = None
        url = "memory://"
        if kind != "embedded":
            parts = urlsplit(real_url)
            self.proxy = Proxy(parts.hostname or "127.0.0.1", parts.port or 0)
            auth = parts.netloc.rsplit("@", 1)[0] + "@" if "@" in parts.netloc else ""
            path = f"/{redis_db}" if kind == "redis" else parts.path
            url = parts._replace(netloc=f"{auth}127.0.0.1:{self.proxy.port}", path=path
                                 ).geturl()
        self.broker_url = url
        self.real_url = (urlsplit(real_url)._replace(path=f"/{redis_db}").geturl()
                         if kind == "redis" else real_url)
        self.env = env_for(
            data_dir, url, ATENDE_BROKER_MIDDLEWARE=json.dumps([CHAOS]),
            ATENDE_CHAOS_DUPLICATE=str(duplicate), ATENDE_CHAOS_LOG=str(self.chaos_log),
            ATENDE_MAX_RETRIES="2", ATENDE_MIN_BACKOFF_MS="100", ATENDE_MAX_BACKOFF_MS="800",
            ATENDE_WORKER_THREADS="4", dramatiq_restart_delay="500", **self.store)
        self.roles = (["dev"] if kind == "embedded" else
                      ["serve"] * http + ["worker"] * workers + ["scheduler"] * schedulers)
        self.ports = {i: free_port() for i, r in enumerate(self.roles) if r in ("dev", "serve")}
        self.bases = [f"http://127.0.0.1:{p}" for p in self.ports.values()]
        self.port = self.ports[0]
        self.base = self.bases[0]
        self.procs: list[Proc | None] = [None] * len(self.roles)
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.deaths = 0  # every exit seen by the supervisor, kills included
        self.kills = 0
        self.started: list[tuple[str, Proc]] = []  # every process, for the logs kept at stop
        self.supervisor = threading.Thread(target=self._supervise, daemon=True)

    # --- processes -----------------------------------------------------------------

    def _start(self, i: int) -> None:
        role = self.roles[i]
        args = [role] + (["--host", "127.0.0.1", "--port", str(self.ports[i])]
                         if role in ("dev", "serve") else [])
        marker = "listening on" if role in ("dev", "serve") else "running"
        for attempt in range(5):
            proc = Proc(args, self.env, REPO)
            self.started.append((role, proc))
            try:
                proc.wait_for(marker, timeout=60)
            except RuntimeError:
                proc.kill()
                if attempt == 4:
                    raise
                time.sleep(0.5)  # e.g. the port not yet free after a kill
                continue
            self.procs[i] = proc
            return

    def start(self) -> None:
        threads = [threading.Thread(target=self._start, args=(i,)) for i in range(len(self.roles))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.supervisor.start()

    def _supervise(self) -> None:
        while not self.stopping.wait(0.1):
            for i, proc in enumerate(self.procs):
                if proc is not None and proc.popen.poll() is not None:
                    with self.lock:
                        if self.stopping.is_set():
                            return
                        self.deaths += 1
                        self.procs[i] = None
                    self._start(i)

    def all_up(self) -> bool:
        return all(p is not None and p.popen.poll() is None for p in self.procs)

    def kill_one(self, rng: random.Random, role: str | None = None) -> str:
        """SIGKILL one running process (an HTTP side, a worker, a scheduler; one of
        ``role`` if given); the supervisor brings it back. Waits for everything to be up
        first, so two kills never overlap."""
        while not self.all_up():
            time.sleep(0.05)
        i = rng.choice([n for n, r in enumerate(self.roles) if role in (None, r)])
        proc = self.procs[i]
        assert proc is not None
        with self.lock:
            self.kills += 1
        proc.kill()
        return self.roles[i]

    def stop(self) -> None:
        self.stopping.set()
        if self.supervisor.is_alive():
            self.supervisor.join(90)  # a restart under way finishes first: no orphan
        with self.lock:
            procs = [p for p in self.procs if p is not None]
        for p in procs:
            p.stop()
        if self.proxy is not None:
            self.proxy.close()
        logs = self.data_dir / "logs"
        logs.mkdir(exist_ok=True)
        for n, (role, proc) in enumerate(self.started):
            (logs / f"{n:03d}-{role}.log").write_text("".join(proc.log))

    # --- operations, as an operator runs them ---------------------------------------

    def ops(self, *args: str) -> list[dict[str, object]]:
        out = subprocess.run([sys.executable, "-m", "infra.cli", "ops", *args],
                             env={**self.env, "ATENDE_BROKER_URL": self.real_url}, cwd=REPO,
                             capture_output=True, text=True, timeout=60, check=True)
        return [json.loads(line) for line in out.stdout.splitlines() if line.startswith("{")]

    def chaos_lines(self, prefix: str) -> int:
        if not self.chaos_log.exists():
            return 0
        return sum(1 for line in self.chaos_log.read_text().splitlines()
                   if line.startswith(prefix))
