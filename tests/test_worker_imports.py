"""A worker's code never loads the HTTP edge: importing a service's consumers (and with
them its handlers and model) leaves falcon unloaded. Each import runs in a fresh
interpreter, since this one has long loaded falcon."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

SERVICES = sorted(p.parent.name for p in
                  (Path(__file__).parents[1] / "services").glob("*/consumers.py"))


def test_every_service_has_consumers() -> None:
    assert len(SERVICES) >= 4


@pytest.mark.parametrize("service", SERVICES)
def test_importing_a_services_consumers_does_not_import_falcon(service: str) -> None:
    code = (f"import services.{service}.consumers, sys; "
            "assert 'falcon' not in sys.modules, 'falcon imported'")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=Path(__file__).parents[1], check=False)
    assert run.returncode == 0, run.stderr
