"""A closed-loop load generator, for where wrk is not installed, run as its own process
(``python -m infra.bench.loadgen``) so that it does not share a GIL with the server:
``threads`` keep-alive connections, each sending the next request of the list as soon as
the previous answer is read. ``load`` runs a spec with wrk or with this.

Reads a JSON spec on stdin: host, port, threads, seconds, warmup, requests (a list of
[method, path, headers, body]); writes {"count", "errors", "rps", "p50_ms", "p99_ms"}.
"""

from __future__ import annotations

import http.client
import json
import os
import sys
import threading
import time
from typing import Any

Spec = dict[str, Any]


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _worker(spec: Spec, offset: int, start: float, stop: float, out: list[float],
            errors: list[str]) -> None:
    conn = http.client.HTTPConnection(spec["host"], spec["port"], timeout=30)
    reqs = spec["requests"]
    n = offset
    while True:
        method, path, headers, body = reqs[n % len(reqs)]
        n += 1
        t0 = time.perf_counter()
        if t0 >= stop:
            break
        try:
            conn.request(method, path, body=body.encode() if body else None, headers=headers)
            resp = conn.getresponse()
            resp.read()
        except (OSError, http.client.HTTPException) as exc:
            errors.append(type(exc).__name__)
            conn.close()
            conn = http.client.HTTPConnection(spec["host"], spec["port"], timeout=30)
            continue
        t1 = time.perf_counter()
        if resp.status >= 300:
            errors.append(str(resp.status))
        elif t0 >= start:
            out.append(t1 - t0)
    conn.close()


def run(spec: Spec) -> dict[str, Any]:
    threads = int(spec.get("threads", 8))
    begin = time.perf_counter()
    start = begin + float(spec.get("warmup", 0.5))
    stop = start + float(spec["seconds"])
    samples: list[list[float]] = [[] for _ in range(threads)]
    errors: list[str] = []
    pool = [threading.Thread(target=_worker, args=(spec, i * 7, start, stop, samples[i],
                                                   errors)) for i in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    latencies = [x for s in samples for x in s]
    return {"count": len(latencies), "errors": len(errors), "error_kinds": sorted(set(errors)),
            "rps": len(latencies) / float(spec["seconds"]),
            "p50_ms": percentile(latencies, 0.50) * 1000,
            "p99_ms": percentile(latencies, 0.99) * 1000}


def generator() -> str:
    """wrk where it is installed (see ``infra.bench.wrk`` for why), else this module;
    ``ATENDE_BENCH_LOADGEN=python`` asks for this module."""
    from infra.bench import wrk

    if os.environ.get("ATENDE_BENCH_LOADGEN", "wrk") != "python" and wrk.available():
        return "wrk"
    return "python"


def load(spec: Spec) -> dict[str, Any]:
    """Run a spec from another process and return its figures."""
    import subprocess

    from infra.bench import wrk

    if generator() == "wrk":
        return wrk.run(spec)
    done = subprocess.run([sys.executable, "-m", "infra.bench.loadgen"], check=True,
                          input=json.dumps(spec), capture_output=True, text=True,
                          timeout=float(spec["seconds"]) + 120)
    return {**json.loads(done.stdout), "generator": "python"}


if __name__ == "__main__":
    print(json.dumps(run(json.load(sys.stdin))))
