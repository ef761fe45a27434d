"""Suite 1: throughput and latency of four routes against a bare Falcon app, both under
the production server, loaded from another process. The platform runs as deployed:
``atende serve`` and ``atende worker`` apart, on Redis, so that a follow-up's deliveries
are applied while it is measured (by another process, as in production)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from infra.bench import brokers
from infra.bench.loadgen import load
from infra.bench.procs import Proc, env_for, free_port, serve_platform, start_worker
from infra.bench.seed import Seeded, seed
from shared.topology import SERVICES, queue_of

Row = dict[str, Any]


def _get(path: str, token: str | None = None) -> list[Any]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return ["GET", path, headers, None]


def routes(s: Seeded) -> dict[str, list[list[Any]]]:
    att = s.tokens["attendant"]
    ids = s.request_ids[-200:]  # the panel's first pages: the requests people open
    post_headers = {"Authorization": f"Bearer {att}", "Content-Type": "application/json"}
    return {
        "panel": [_get("/requests", att)],
        "detail": [_get(f"/requests/{i}", att) for i in ids],
        "catalog": [_get("/catalog/services")],
        # Spread over many requests, as posts in a unit are: the same request's timeline
        # takes one write at a time.
        "followup": [["POST", f"/requests/{i}/followups", post_headers,
                      json.dumps({"body": "Segue o andamento do seu pedido."})]
                     for i in s.request_ids[: min(len(s.request_ids), 2000)]],
    }


def _bare(work: Path, spec: dict[str, Any], label: str) -> Row:
    port = free_port()
    with Proc.python("infra.bench.bare", str(port), env=env_for(work / "bare"),
                     log=work / "logs" / f"bare-{label}.log") as bare:
        bare.wait_http(port)
        return load({**spec, "port": port, "requests": [_get("/")]})


def run(work: Path, *, requests: int, seconds: float, threads: int = 8) -> list[Row]:
    """The bare app is measured before the routes and again after them, and the ratios
    taken against the mean of the two: on a shared virtual machine the baseline drifts by
    a fifth within minutes, and one reading of it skews every ratio of the run."""
    seeded = seed(work / "http", requests)
    spec = {"host": "127.0.0.1", "threads": threads, "seconds": seconds,
            "warmup": min(1.0, seconds / 2)}
    before = _bare(work, spec, "before")
    url = brokers.url_for("redis")
    brokers.reset("redis", tuple(queue_of(s) for s in SERVICES))
    server, port = serve_platform(seeded.data_dir, work / "logs", "http-serve", broker_url=url,
                                  http_only=True)
    routed: list[Row] = []
    with server, start_worker(seeded.data_dir, work / "logs", "http-worker", url):
        for name, reqs in routes(seeded).items():
            routed.append({"suite": "http", "name": name,
                           **load({**spec, "port": port, "requests": reqs})})
    after = _bare(work, spec, "after")
    base = {"suite": "http", "name": "bare falcon GET /", **before,
            "rps": (before["rps"] + after["rps"]) / 2,
            "rps_before": before["rps"], "rps_after": after["rps"],
            "note": f"mean of {before['rps']:.0f}, {after['rps']:.0f}"}
    for row in routed:
        row["ratio"] = row["rps"] / base["rps"] if base["rps"] else 0.0
    return [base, *routed]
