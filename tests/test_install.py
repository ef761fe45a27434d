"""A fresh install from the project's own declaration: every module of the platform and
the `atende` command import in a clean virtualenv, so each runtime import is declared in
pyproject.toml (and not just present because a dev tool pulled it in)."""

from __future__ import annotations

import shutil
import subprocess
import sys
import venv
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
_SKIP = shutil.ignore_patterns(".git", ".venv", "var", "node_modules", "__pycache__",
                               "*.egg-info", "build", ".pytest_cache", ".mypy_cache",
                               ".ruff_cache", "tests")

IMPORT_ALL = """
import importlib, pkgutil
failed, count = [], 0
for top in ("shared", "services", "infra", "console"):
    for mod in pkgutil.walk_packages(importlib.import_module(top).__path__, top + "."):
        try:
            importlib.import_module(mod.name)
            count += 1
        except Exception as exc:
            failed.append(f"{mod.name}: {type(exc).__name__}: {exc}")
print(count)
assert not failed, failed
"""


@pytest.mark.slow
def test_a_clean_install_imports_every_module_and_runs_the_command(tmp_path: Path) -> None:
    source = tmp_path / "src"
    shutil.copytree(REPO, source, ignore=_SKIP)
    env_dir = tmp_path / "venv"
    # No pip of its own: this pip installs into it (--python), and a copy of pip in the new
    # environment would be one more install and nothing the platform imports. Bytecode is
    # compiled on import, as every module is imported below.
    venv.create(env_dir, with_pip=False)
    python = env_dir / "bin" / "python"
    # The extras too: what the platform imports on premises and on AWS must be declared.
    subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "-q",
                    "--no-compile", f"{source}[postgres,aws]"], check=True,
                   capture_output=True, timeout=600)
    done = subprocess.run([python, "-c", IMPORT_ALL], cwd=tmp_path, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert int(done.stdout.split()[-1]) > 50  # the walk found the platform's modules
    cli = subprocess.run([env_dir / "bin" / "atende", "--help"], capture_output=True,
                         text=True, timeout=60)
    assert cli.returncode == 0 and "dev" in cli.stdout, cli.stderr
