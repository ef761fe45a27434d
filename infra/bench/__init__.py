"""``atende bench``: the platform measured against the limits of its own stack (issue 8).

Each suite starts real processes (``atende dev|serve|worker``, a bare Falcon app, a no-op
Dramatiq worker) on this machine and measures them from another process; ``run`` puts
the figures and the targets side by side in one table. Only the arguments live here, so
that the ``atende`` command does not import the suites unless it runs them.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

SUITES = ("http", "effect", "worker", "growth", "postgres", "cold")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--quick", action="store_true",
                        help="small counts: checks that the harness works, not the numbers")
    parser.add_argument("--out", type=Path, help="write the figures as JSON here")
    parser.add_argument("--work-dir", type=Path,
                        help="where the bench stores live (default: a temporary directory)")
    parser.add_argument("--suite", action="append", choices=SUITES, dest="suites",
                        help="run only this suite (again for more; default: every suite)")
    parser.add_argument("--rounds", type=int,
                        help="rounds of the HTTP suite's read routes (default: 3; quick: 1)")
    parser.add_argument("--pin-http", type=_cpus, metavar="CPUS",
                        help="run the HTTP suite's servers (the platform's, the bare app, "
                             "the twin) on these CPUs only, e.g. 0 or 0,1")


def _cpus(text: str) -> frozenset[int]:
    try:
        cpus = frozenset(int(c) for c in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a list of CPU numbers: {text!r}") from None
    if not cpus <= os.sched_getaffinity(0):
        raise argparse.ArgumentTypeError(
            f"CPUs {sorted(cpus)} are not all among this process's "
            f"{sorted(os.sched_getaffinity(0))}")
    return cpus


def main(args: argparse.Namespace) -> int:
    from infra.bench.run import run

    return run(args)
