"""Suite 1: throughput and latency of four routes against a bare Falcon app, both under
the production server, loaded from another process. The platform runs as deployed:
``atende serve`` and ``atende worker`` apart, on Redis, so that a follow-up's deliveries
are applied while it is measured (by another process, as in production)."""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path
from typing import Any

from infra.bench import brokers, consolebench
from infra.bench.loadgen import load
from infra.bench.procs import Proc, env_for, free_port, serve_platform, start_worker
from infra.bench.seed import Seeded, seed
from infra.services import queues

Row = dict[str, Any]


def _get(path: str, token: str | None = None) -> list[Any]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return ["GET", path, headers, None]


def routes(s: Seeded, cookie: str) -> dict[str, list[list[Any]]]:
    att = s.tokens["attendant"]
    ids = s.request_ids[-200:]  # the panel's first pages: the requests people open
    post_headers = {"Authorization": f"Bearer {att}", "Content-Type": "application/json"}
    return {
        "panel": [_get("/requests", att)],
        # The same attendant's panel as an HTML page, right after the JSON one. wrk builds
        # the requests before it knows the host, and the console wants one.
        "console panel": [["GET", consolebench.PANEL, {"Cookie": cookie, "Host": "127.0.0.1"},
                           None]],
        "detail": [_get(f"/requests/{i}", att) for i in ids],
        # The same requests' detail pages, right after the JSON detail.
        "console detail": [["GET", f"{consolebench.PANEL}/{i}",
                            {"Cookie": cookie, "Host": "127.0.0.1"}, None] for i in ids],
        "catalog": [_get("/catalog/services")],
        # Spread over many requests, as posts in a unit are: the same request's timeline
        # takes one write at a time.
        "followup": [["POST", f"/requests/{i}/followups", post_headers,
                      json.dumps({"body": "Segue o andamento do seu pedido."})]
                     for i in s.request_ids[: min(len(s.request_ids), 2000)]],
    }


# The console's pages, each judged against the JSON route that serves the same data.
CONSOLE = {"console panel": "panel", "console detail": "detail"}


Pair = tuple[float, Row, Row]  # the post's ratio to the twin, the twin's row, the post's


def _posts(spec: dict[str, Any], twin_port: int, port: int, followup: list[list[Any]],
           n: int, paused: Proc | None) -> Pair:
    """One round: the twin, then the post, with the same posts, once the worker has
    applied the last round's deliveries; ``paused``: the worker, stopped (SIGSTOP) during
    both and let go after."""
    if n or paused is None:
        brokers.wait_drained(tuple(q for q, _ in queues()))
    if paused is not None:
        os.kill(paused.popen.pid, signal.SIGSTOP)
    try:
        twin = load({**spec, "port": twin_port, "requests": followup})
        posted = load({**spec, "port": port, "requests": followup})
    finally:
        if paused is not None:
            os.kill(paused.popen.pid, signal.SIGCONT)
    return (posted["rps"] / twin["rps"] if twin["rps"] else 0.0, twin, posted)


def _median_pair(pairs: list[Pair]) -> Pair:
    return sorted(pairs, key=lambda p: p[0])[len(pairs) // 2]


def _median(rows: list[Row], key: str) -> Row:
    return sorted(rows, key=lambda r: r[key])[len(rows) // 2]


def run(work: Path, *, requests: int, seconds: float, threads: int = 8,
        rounds: int = 3, cpus: frozenset[int] | None = None) -> list[Row]:
    """Each round loads the bare app and then each read route right after it, and a
    route's figures are those of its median round by ratio: on a shared virtual machine
    the speed of the whole machine drifts by a fifth within minutes, and a ratio against a
    reading taken minutes apart carries that drift. The follow-up posts come last (their
    deliveries keep the worker busy after them), as many rounds of the twin and then the
    post, each round once the worker has caught up with the last; the median round by
    ratio is judged.

    ``cpus`` (``atende bench --pin-http``): the platform's server, the bare app and the twin
    each run on these CPUs only; the worker and the load generator run where they will."""
    seeded = seed(work / "http", requests)
    spec = {"host": "127.0.0.1", "threads": threads, "seconds": seconds,
            "warmup": min(1.0, seconds / 2)}
    url = brokers.url_for("redis")
    brokers.reset("redis", tuple(q for q, _ in queues()))
    bare_port = free_port()
    server, port = serve_platform(seeded.data_dir, work / "logs", "http-serve", broker_url=url,
                                  http_only=True, cpus=cpus)
    bare_proc = Proc.python("infra.bench.bare", str(bare_port), env=env_for(work / "bare"),
                            log=work / "logs" / "bare.log", cpus=cpus)
    twin_port, twin_dir = free_port(), work / "twin"
    twin_dir.mkdir(parents=True, exist_ok=True)
    (twin_dir / "twin.db").unlink(missing_ok=True)
    twin_proc = Proc.python("infra.bench.twin", str(twin_port), str(twin_dir / "twin.db"),
                            env=env_for(twin_dir, url), log=work / "logs" / "twin.log",
                            cpus=cpus)
    reads = routes(seeded, consolebench.session_cookie(seeded.data_dir))
    followup = reads.pop("followup")
    readings: dict[str, list[Row]] = {"bare": [], **{name: [] for name in reads}}
    with server, bare_proc, twin_proc, \
            start_worker(seeded.data_dir, work / "logs", "http-worker", url) as worker:
        bare_proc.wait_http(bare_port)
        twin_proc.wait_http(twin_port)
        consolebench.warm(port, reads["console panel"][0][2]["Cookie"],
                          (consolebench.PANEL, reads["console detail"][0][1]))
        for _ in range(rounds):
            bare = load({**spec, "port": bare_port, "requests": [_get("/")]})
            readings["bare"].append(bare)
            for name, reqs in reads.items():
                row = load({**spec, "port": port, "requests": reqs})
                readings[name].append({**row, "ratio": row["rps"] / bare["rps"]
                                       if bare["rps"] else 0.0})
        # The twin right before the follow-up, with the same posts: the same minute of the
        # machine's drift, and a worker idle when each begins. Judged with the worker
        # paused during both (the twin's messages have no consumer either); as
        # information, with the worker applying the posts' deliveries meanwhile.
        posts = [_posts(spec, twin_port, port, followup, n, worker if paused else None)
                 for paused in (True, False) for n in range(rounds)]
        pairs, busy = posts[:rounds], posts[rounds:]
        ratio, twin, posted = _median_pair(pairs)
        busy_ratio, busy_twin, busy_posted = _median_pair(busy)
        first_load = consolebench.first_load(port, reads["console panel"][0][2]["Cookie"])
    base = _median(readings["bare"], "rps")
    rows: list[Row] = [{"suite": "http", "name": "bare falcon GET /", **base,
                        "note": "rounds " + ", ".join(f"{r['rps']:.0f}"
                                                      for r in readings["bare"])}]
    for name in reads:
        if name in CONSOLE:  # against the JSON route of the same round
            paired = [{**page, "ratio": page["rps"] / json_["rps"] if json_["rps"] else 0.0}
                      for page, json_ in zip(readings[name], readings[CONSOLE[name]],
                                             strict=True)]
            rows.append({"suite": "http", "name": name, **_median(paired, "ratio"),
                         "rounds": [round(r["ratio"], 3) for r in paired]})
            continue
        rows.append({"suite": "http", "name": name, **_median(readings[name], "ratio"),
                     "rounds": [round(r["ratio"], 3) for r in readings[name]]})
    to_bare = posted["rps"] / base["rps"] if base["rps"] else 0.0
    rows.append({"suite": "http", "name": "followup", **posted, "ratio": to_bare,
                 "note": "information: against the bare GET"})
    rows.append({"suite": "http", "name": "naive twin POST", **twin})
    rows.append({"suite": "http", "name": "followup vs naive twin", **posted,
                 "twin_rps": twin["rps"], "ratio_to_bare": to_bare, "ratio": ratio,
                 "rounds": [round(p[0], 3) for p in pairs]})
    rows.append({"suite": "http", "name": "followup vs twin, worker applying", **busy_posted,
                 "twin_rps": busy_twin["rps"], "ratio": busy_ratio,
                 "rounds": [round(p[0], 3) for p in busy],
                 "note": "information: the worker applies the posts' deliveries meanwhile"})
    rows.append(first_load)
    return rows
