"""The documented curl walk (docs/walkthrough.md), run as written (bash + curl +
`atende token`) against a fresh `atende dev`: if the docs drift from the API, this fails."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.live import REPO, env_for, serving


def walk_script() -> str:
    """The first ```bash block of the walk's page."""
    section = (REPO / "docs" / "walkthrough.md").read_text()
    found = re.search(r"^```bash\n(.*?)^```$", section, re.S | re.M)
    assert found, "docs/walkthrough.md has no ```bash block"
    return found.group(1)


@pytest.mark.slow
def test_documented_walk_runs_against_atende_dev(tmp_path: Path) -> None:
    data = tmp_path / "var"
    env = env_for(data, "memory://")
    # The walk expects `atende` and a python3 with pypdf on PATH, as in the README's venv.
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    with serving(["dev"], env) as (_, client):
        done = subprocess.run(["bash", "-c", walk_script()], env={**env, "API": client.base},
                              cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.splitlines() == [
        "att-1",
        "att-2",
        "application/pdf",
        "in_analysis",
        "True",
        "in_service",
        "concluded",
        "RequestSubmitted DocumentAdded AnalysisStarted StepChecked RequestApproved"
        " RequestConcluded",
        "rejected",
        "Documento de identidade ilegível.",
        "404",
    ], done.stdout + done.stderr
