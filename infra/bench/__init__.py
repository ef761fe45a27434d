"""``atende bench``: the platform measured against the limits of its own stack (issue 8).

Each suite starts real processes (``atende dev|serve|worker``, a bare Falcon app, a no-op
Dramatiq worker) on this machine and measures them from another process; ``run`` puts
the figures and the targets side by side in one table. Only the arguments live here, so
that the ``atende`` command does not import the suites unless it runs them.
"""

from __future__ import annotations

import argparse
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


def main(args: argparse.Namespace) -> int:
    from infra.bench.run import run

    return run(args)
