"""Suite 2: command to effect. Follow-ups are posted at a steady rate; the time from each
post's 2xx to its entry on the request's timeline (read from the store, polled every
half millisecond) is the latency a citizen would see on the next refresh."""

from __future__ import annotations

import http.client
import json
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from infra.bench import brokers
from infra.bench.loadgen import percentile
from infra.bench.procs import launch_platform, start_worker
from infra.bench.seed import seed
from infra.services import queues
from shared.clock import iso
from shared.tables.sqlite import SQLiteDatabase

Row = dict[str, Any]


class Watcher(threading.Thread):
    """Polls the timelines of the requests with a post in flight, in one indexed query a
    millisecond, so that watching costs little beside the platform it measures."""

    def __init__(self, db_path: Path, database_url: str | None = None) -> None:
        super().__init__(daemon=True)
        self.db_path, self.database_url = db_path, database_url
        self.pending: dict[str, tuple[str, float]] = {}  # followup id -> request, 2xx time
        self.seen: dict[str, float] = {}
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.since = "TL#" + iso(datetime.now(UTC) - timedelta(seconds=5))

    def expect(self, followup_id: str, request_id: str, done_at: float) -> None:
        with self.lock:
            self.pending[followup_id] = (request_id, done_at)

    def _fetch(self) -> Callable[[list[str]], list[tuple[Any, ...]]]:
        if self.database_url is None:
            conn = SQLiteDatabase(self.db_path).connection()
            return lambda pks: conn.execute(
                "SELECT json_extract(body, '$.data.followup_id') FROM requests "
                f"WHERE pk IN ({', '.join('?' * len(pks))}) AND sk >= ? AND sk < 'TL$'",
                [*pks, self.since]).fetchall()
        import psycopg

        pg = psycopg.connect(self.database_url, autocommit=True)
        return lambda pks: pg.execute(
            "SELECT body -> 'data' ->> 'followup_id' FROM requests "
            "WHERE pk = ANY(%s) AND sk >= %s AND sk < 'TL$'", (pks, self.since)).fetchall()

    def run(self) -> None:
        fetch = self._fetch()
        while not self.stop.wait(0.001):
            with self.lock:
                waiting = dict(self.pending)
            pks = sorted({f"REQ#{r}" for r, _ in waiting.values()})
            if not pks:
                continue
            rows = fetch(pks)
            now = time.perf_counter()
            with self.lock:
                for (fid,) in rows:
                    if fid in self.pending:
                        self.seen[fid] = now - self.pending.pop(fid)[1]


def _post(port: int, token: str, request_id: str, local: threading.local) -> str:
    conn = getattr(local, "conn", None)
    if conn is None:
        conn = local.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request("POST", f"/requests/{request_id}/followups",
                 body=json.dumps({"body": "Segue o andamento."}),
                 headers={"Authorization": f"Bearer {token}",
                          "Content-Type": "application/json"})
    resp = conn.getresponse()
    body = resp.read()
    if resp.status != 201:
        raise RuntimeError(f"follow-up post answered {resp.status}: {body[:300]!r}")
    return str(json.loads(body)["id"])


def run(work: Path, kind: str, *, posts: int, rate: float = 100.0,
        database_url: str | None = None) -> Row:
    """``posts`` measured, after a second's worth not measured: a process's first messages
    meet its cold paths (connections opened per thread, first validations), and the
    figure is of the steady rate. ``database_url``: the store on PostgreSQL, not SQLite."""
    url = brokers.url_for(kind)
    brokers.reset(kind, tuple(q for q, _ in queues()))
    store = {} if database_url is None else {"table_backend": "postgres",
                                              "database_url": database_url}
    extra = {f"ATENDE_{k.upper()}": v for k, v in store.items()}
    label = kind if database_url is None else f"postgres+{kind}"
    seeded = seed(work / f"effect-{label}", max(50, posts // 10), extra=store)
    token = seeded.tokens["attendant"]
    with ExitStack() as stack:
        server, port = launch_platform(seeded.data_dir, work / "logs", f"effect-{label}",
                                       broker_url=url, http_only=kind != "memory", extra=extra)
        stack.enter_context(server)
        if kind != "memory":  # HTTP and workers in separate processes, as deployed
            stack.enter_context(start_worker(seeded.data_dir, work / "logs",
                                             f"effect-{label}-worker", url, extra))
        server.wait_http(port, 60)
        watcher = Watcher(seeded.data_dir / "atende.db", database_url)
        watcher.start()
        local = threading.local()

        warmup = min(int(rate), posts)

        def one(n: int) -> None:
            rid = seeded.request_ids[n % len(seeded.request_ids)]
            fid = _post(port, token, rid, local)
            if n >= warmup:
                watcher.expect(fid, rid, time.perf_counter())

        start = time.perf_counter()
        with ThreadPoolExecutor(8) as pool:
            futures = []
            for n in range(warmup + posts):  # open loop: the schedule does not wait
                time.sleep(max(0.0, start + n / rate - time.perf_counter()))
                futures.append(pool.submit(one, n))
            for f in futures:
                f.result()
        deadline = time.monotonic() + 30
        while watcher.pending and time.monotonic() < deadline:
            time.sleep(0.01)
        watcher.stop.set()
        watcher.join()
    lat = list(watcher.seen.values())
    return {"suite": "effect", "name": f"command→effect ({label})", "count": len(lat),
            "missing": posts - len(lat), "p50_ms": percentile(lat, 0.5) * 1000,
            "p99_ms": percentile(lat, 0.99) * 1000}
