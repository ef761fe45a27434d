"""Suite 4: does a read cost grow with the data? The panel's p50 with 1,000 and with
100,000 requests in the store, and a timeline's first page at 10 and at 1,000 entries;
one client at a time, so the figures are service times, not queueing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from infra.bench.httpbench import _get
from infra.bench.loadgen import load
from infra.bench.procs import serve_platform
from infra.bench.seed import seed

Row = dict[str, Any]


def _p50(port: int, reqs: list[list[Any]], seconds: float) -> float:
    """The p50 of a window in which requests were answered: on a crowded machine the
    quick form's first window can end before the server's first answer (it builds its
    app on that request), and a p50 of nothing would be 0."""
    for _ in range(3):
        figures = load({"host": "127.0.0.1", "port": port, "threads": 1,
                        "seconds": seconds, "warmup": min(0.5, seconds / 2),
                        "requests": reqs})
        if figures["errors"]:
            raise RuntimeError(f"errors while measuring growth: {figures['error_kinds']}")
        if figures["count"]:
            return float(figures["p50_ms"])
    raise RuntimeError("no request was answered while measuring growth")


def run(work: Path, *, small: int, large: int, entries: int, seconds: float) -> list[Row]:
    panel: dict[int, float] = {}
    timeline: dict[int, float] = {}
    for size in (small, large):
        seeded = seed(work / f"growth-{size}", size, in_service=False,
                      timeline=entries if size == small else 0)
        server, port = serve_platform(seeded.data_dir, work / "logs", f"growth-{size}")
        with server:
            token = seeded.tokens["attendant"]
            panel[size] = _p50(port, [_get("/requests", token)], seconds)
            if size == small:
                # The same page size for both: what could grow is the cost of reaching
                # a page, not the size of the answer.
                for rid, n in ((seeded.short_timeline, 10), (seeded.long_timeline, entries)):
                    timeline[n] = _p50(
                        port, [_get(f"/requests/{rid}/timeline?limit=10", token)], seconds)
    return [
        {"suite": "growth", "name": f"panel p50, {small:,} requests", "p50_ms": panel[small]},
        {"suite": "growth", "name": f"panel p50, {large:,} requests", "p50_ms": panel[large],
         "ratio": panel[large] / panel[small]},
        {"suite": "growth", "name": "timeline p50, 10 entries", "p50_ms": timeline[10]},
        {"suite": "growth", "name": f"timeline p50, {entries:,} entries",
         "p50_ms": timeline[entries], "ratio": timeline[entries] / timeline[10]},
    ]
