"""The data centre's deployment files (infra/deploy): every setting they name exists and
parses, every command they run is a real `atende` command with options it takes, and
systemd finds nothing wrong with the units (unknown keys included)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from shared.settings import Settings
from tests.live import REPO

DEPLOY = REPO / "infra" / "deploy"
UNITS = sorted(p.name for p in DEPLOY.iterdir() if p.suffix in (".service", ".target"))


def _env_file() -> dict[str, str]:
    pairs = (line.split("=", 1) for line in (DEPLOY / "atende.env.example").read_text()
             .splitlines() if line.strip() and not line.startswith("#"))
    return {k: v for k, v in pairs}


def test_every_setting_of_the_env_file_is_one_the_platform_reads(
        monkeypatch: pytest.MonkeyPatch) -> None:
    env = _env_file()
    fields = {f"ATENDE_{name.upper()}" for name in Settings.model_fields} | {"ATENDE_LOG_LEVEL"}
    assert {k for k in env if k.startswith("ATENDE_")} <= fields
    assert {k for k in env if not k.startswith("ATENDE_")} <= {"AWS_ACCESS_KEY_ID",
                                                               "AWS_SECRET_ACCESS_KEY"}
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    settings = Settings()
    assert (settings.table_backend, settings.blob_backend, settings.database_migrate) == (
        "postgres", "s3", False)


def _exec_starts() -> list[list[str]]:
    out = []
    for unit in UNITS:
        for line in (DEPLOY / unit).read_text().splitlines():
            if line.startswith("ExecStart="):
                out.append(line.removeprefix("ExecStart=").replace("%i", "8001").split())
    return out


def test_every_unit_runs_an_atende_command_with_options_it_takes() -> None:
    commands = _exec_starts()
    assert sorted(c[1] for c in commands) == ["ops", "scheduler", "serve", "worker"]
    for cmd in commands:
        assert cmd[0] == "/opt/atende/.venv/bin/atende"
        out = subprocess.run([sys.executable, "-m", "infra.cli", *cmd[1:], "--help"],
                             cwd=REPO, capture_output=True, text=True, timeout=60)
        assert out.returncode == 0, (cmd, out.stderr)


def test_systemd_finds_nothing_wrong_with_the_units(tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    assert analyze, "systemd-analyze (package systemd) checks the units"
    atende = Path(sys.executable).with_name("atende")
    for unit in UNITS:
        text = ((DEPLOY / unit).read_text()
                .replace("/opt/atende/.venv/bin/atende", str(atende))
                .replace("/etc/atende/atende.env", str(DEPLOY / "atende.env.example")))
        name = unit.replace("@.", "@1.")  # an instance of each template
        (tmp_path / name).write_text(text)
    out = subprocess.run([analyze, "verify", "--man=no",
                          *sorted(str(p) for p in tmp_path.iterdir())],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and out.stderr.strip() == "" and out.stdout.strip() == "", (
        out.stdout + out.stderr)
