"""Suite 5: cold start. Each Lambda handler module imported in a fresh interpreter,
against ``import falcon, pydantic``; the median of several runs, import time only."""

from __future__ import annotations

import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

import infra.aws

Row = dict[str, Any]
_TIMED = ("import time; t = time.perf_counter(); import {}; "
          "print(time.perf_counter() - t)")


def handler_modules() -> list[str]:
    """Every module of infra/aws that defines a Lambda ``handler``."""
    root = Path(infra.aws.__file__).parent
    found = []
    for path in sorted(root.glob("*.py")):
        text = path.read_text()
        if "\nhandler = " in text or "\ndef handler(" in text:
            found.append(f"infra.aws.{path.stem}")
    return found


def import_seconds(modules: str, runs: int) -> float:
    times = []
    for _ in range(runs):
        out = subprocess.run([sys.executable, "-c", _TIMED.format(modules)], check=True,
                             capture_output=True, text=True, timeout=120)
        times.append(float(out.stdout.strip().splitlines()[-1]))
    return statistics.median(times)


def run(*, runs: int) -> list[Row]:
    base = import_seconds("falcon, pydantic", runs)
    rows: list[Row] = [{"suite": "cold", "name": "import falcon, pydantic",
                        "p50_ms": base * 1000}]
    for module in handler_modules():
        secs = import_seconds(module, runs)
        rows.append({"suite": "cold", "name": f"import {module}", "p50_ms": secs * 1000,
                     "ratio": secs / base})
    return rows
