"""``atende bench``: every suite in one run, one table, the same figures as JSON."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from infra.bench import cold, effect, growth, httpbench, pgbench, workers
from infra.bench.loadgen import generator

Row = dict[str, Any]


@dataclass(frozen=True)
class Sizes:
    requests: int  # in the unit, for the HTTP suite
    seconds: float  # of load per route
    posts: int  # per broker, at 100/s
    events: int  # per worker run
    small: int
    large: int
    entries: int
    runs: int  # fresh interpreters per first answer
    rounds: int  # of the HTTP suite's read routes (each paired with a bare reading) and posts


FULL = Sizes(requests=10_000, seconds=5.0, posts=1_000, events=2_000, small=1_000,
             large=100_000, entries=1_000, runs=7, rounds=3)
QUICK = Sizes(requests=40, seconds=0.3, posts=20, events=30, small=20, large=200,
              entries=30, runs=1, rounds=1)

# (suite, the row's name starts with, the figure judged, at least or at most, the limit)
TARGETS: list[tuple[str, str, str, str, float]] = [
    ("http", "panel", "ratio", "≥", 0.5),
    ("http", "detail", "ratio", "≥", 0.5),
    ("http", "console panel", "ratio", "≥", 0.5),
    ("http", "console detail", "ratio", "≥", 0.5),
    ("http", "console first load", "bytes", "≤", 250_000),
    ("http", "followup vs naive twin", "ratio", "≥", 0.5),
    ("effect", "command→effect (redis)", "p99_ms", "<", 50),
    ("effect", "command→effect (rabbitmq)", "p99_ms", "<", 50),
    ("effect", "command→effect (postgres+rabbitmq)", "p99_ms", "<", 50),
    ("worker", "atende worker", "ratio", "≥", 0.5),
    ("growth", "panel p50", "ratio", "≤", 1.3),
    ("cold", "first answer, ", "ratio", "≤", 1.5),
]
_OK = {"≥": lambda v, lim: v >= lim, "≤": lambda v, lim: v <= lim,
       "<": lambda v, lim: v < lim}


def judge(rows: list[Row]) -> None:
    """Mark each row a target applies to PASS or MISS (rows without the figure judged,
    such as the baselines, have no target)."""
    for row in rows:
        for suite, prefix, figure, op, limit in TARGETS:
            if row["suite"] == suite and row["name"].startswith(prefix) and figure in row:
                row["target"] = f"{figure.removesuffix('_ms')} {op} {limit:g}" + (
                    " ms" if figure.endswith("_ms") else "")
                row["verdict"] = "PASS" if _OK[op](row[figure], limit) else "MISS"


def machine() -> dict[str, Any]:
    mem = 0
    with contextlib.suppress(ValueError, OSError):  # not every platform tells
        mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    return {"cores": os.cpu_count(), "ram_gib": round(mem / 2**30, 1),
            "python": platform.python_version(), "platform": platform.platform(),
            "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")}


def _fmt(value: Any, spec: str) -> str:
    return "" if value is None else format(value, spec)


def table(rows: list[Row]) -> str:
    head = f"{'suite':<7} {'measure':<40} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} " \
           f"{'ratio':>6}  {'target (or note)':<24} verdict"
    lines = [head, "-" * len(head)]
    for r in rows:
        aside = r.get("target") or r.get("note", "")
        lines.append(f"{r['suite']:<7} {r['name']:<40} {_fmt(r.get('rps'), '8.0f'):>8} "
                     f"{_fmt(r.get('p50_ms'), '8.2f'):>8} {_fmt(r.get('p99_ms'), '8.2f'):>8} "
                     f"{_fmt(r.get('ratio'), '6.2f'):>6}  {aside:<24} "
                     f"{r.get('verdict', '')}" + (
                         f"  rounds {' '.join(f'{x:.2f}' for x in r['rounds'])}"
                         if r.get("rounds") else "") + (
                         f"  {r['bytes'] / 1000:.0f} kB in {r['requests']} responses"
                         if "bytes" in r else "") + (
                         f"  cpu {r['cpu_ms']:.0f} ms" if "cpu_ms" in r else "") + (
                         f"  cpu {r['cpu_us']:.0f} µs/msg" if "cpu_us" in r else "") + (
                         f", ratio {r['cpu_ratio']:.2f}" if "cpu_ratio" in r else "") + (
                         f"; against Dramatiq's {r['stock_ratio']:.2f}"
                         if "stock_ratio" in r else ""))
    return "\n".join(lines)


def bench(work: Path, sizes: Sizes, quick: bool, chosen: tuple[str, ...] = (),
          pin_http: frozenset[int] | None = None) -> list[Row]:
    """The suites in order (``chosen``: only those, by their first word); the quick form
    runs independent groups side by side (its figures mean nothing anyway) to finish in
    seconds. Groups that share a broker run one after the other, since each suite empties
    the broker first."""
    Suite = tuple[str, Callable[[], list[Row]]]

    def broker_suites(k: str) -> list[Suite]:
        suites: list[Suite] = [
            (f"effect {k}", lambda: [effect.run(work, k, posts=sizes.posts)])]
        if k != "memory":
            suites.append((f"worker {k}", lambda: workers.run(work, k, events=sizes.events)))
        return suites

    per_broker = {k: broker_suites(k) for k in ("memory", "redis", "rabbitmq")}
    http = ("http", lambda: httpbench.run(work, requests=sizes.requests, seconds=sizes.seconds,
                                          rounds=sizes.rounds, cpus=pin_http))
    groups: list[list[tuple[str, Callable[[], list[Row]]]]] = [
        [http, *per_broker["redis"]],  # the HTTP suite's platform runs on Redis too
        per_broker["memory"],
        # PostgreSQL's command to effect runs on RabbitMQ: after its other suites.
        [*per_broker["rabbitmq"],
         ("postgres", lambda: pgbench.run(work, small=sizes.small, large=sizes.large,
                                          seconds=sizes.seconds, posts=sizes.posts))],
        [("growth", lambda: growth.run(work, small=sizes.small, large=sizes.large,
                                       entries=sizes.entries, seconds=sizes.seconds))],
        [("cold", lambda: cold.run(work / "cold", runs=sizes.runs))],
    ]

    def run_group(group: list[tuple[str, Callable[[], list[Row]]]]) -> dict[str, list[Row]]:
        out = {}
        for name, suite in group:
            if chosen and name.split()[0] not in chosen:
                continue
            began = time.perf_counter()
            out[name] = suite()
            print(f"bench: {name} done in {time.perf_counter() - began:.1f} s",
                  file=sys.stderr, flush=True)
        return out

    results: dict[str, list[Row]] = {}
    if quick:
        with ThreadPoolExecutor(len(groups)) as pool:
            for done in pool.map(run_group, groups):
                results |= done
    else:
        for group in groups:
            results |= run_group(group)
    order = ["http", *(f"effect {k}" for k in ("memory", "redis", "rabbitmq")),
             *(f"worker {k}" for k in ("redis", "rabbitmq")), "growth", "postgres",
             "cold"]
    rows = [row for name in order for row in results.get(name, [])]
    judge(rows)
    return rows


def run(args: argparse.Namespace) -> int:
    sizes = QUICK if args.quick else FULL
    if args.rounds:
        sizes = replace(sizes, rounds=args.rounds)
    started = time.perf_counter()
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="atende-bench-") as tmp:
        work = args.work_dir or Path(tmp)
        pin = args.pin_http
        rows = bench(work, sizes, args.quick, tuple(args.suites or ()), pin)
    result = {"machine": machine(), "quick": args.quick, "sizes": sizes.__dict__,
              "suites": list(args.suites or ()),
              "pin_http": sorted(pin) if pin else None,
              "load_generator": generator(),
              "seconds": round(time.perf_counter() - started, 1),
              # The machine's 1-minute load average before and after: on a shared machine
              # it says how much the figures were crowded.
              "load": [round(load_before[0], 1), round(os.getloadavg()[0], 1)], "rows": rows}
    print(table(rows))
    print(f"\n{result['machine']}  ({result['seconds']} s, load from "
          f"{result['load_generator']}; load average {result['load'][0]} before, "
          f"{result['load'][1]} after" + (f"; HTTP servers on CPUs {result['pin_http']}"
                                         if pin else "") + ")")
    if args.out:
        args.out.write_text(json.dumps(result, indent=2, ensure_ascii=False))
    return 0

