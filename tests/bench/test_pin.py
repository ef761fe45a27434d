"""``atende bench --pin-http``: the HTTP suite's servers run on the CPUs named, and the
threads they start with them."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import pytest

from infra.bench import _cpus
from infra.bench.procs import Proc

SHOW = ("import os, threading\n"
        "seen = []\n"
        "t = threading.Thread(target=lambda: seen.append(sorted(os.sched_getaffinity(0))))\n"
        "t.start(); t.join()\n"
        "print(sorted(os.sched_getaffinity(0)), seen[0])\n")


def test_a_pinned_process_and_its_threads_run_on_the_cpus_named(tmp_path: Path) -> None:
    mine = sorted(os.sched_getaffinity(0))
    log = tmp_path / "out.log"
    with Proc([sys.executable, "-c", SHOW], dict(os.environ), log,
              cpus=frozenset({mine[-1]})) as proc:
        proc.popen.wait(30)
    assert log.read_text().split("] [") == [f"[{mine[-1]}", f"{mine[-1]}]\n"]


def test_unpinned_it_runs_where_the_bench_may(tmp_path: Path) -> None:
    log = tmp_path / "out.log"
    with Proc([sys.executable, "-c", SHOW], dict(os.environ), log) as proc:
        proc.popen.wait(30)
    mine = sorted(os.sched_getaffinity(0))
    assert log.read_text() == f"{mine} {mine}\n"


def test_the_cpus_are_checked_before_anything_runs() -> None:
    assert _cpus("0") == {0}
    for bad in ("zero", "0,x", str(max(os.sched_getaffinity(0)) + 1)):
        with pytest.raises(argparse.ArgumentTypeError):
            _cpus(bad)
