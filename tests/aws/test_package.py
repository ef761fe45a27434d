"""infra/aws/package.py: the functions' code as `sam build` ships it, its bytecode used as
it is from a read-only directory."""

from __future__ import annotations

import os
import re
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from infra.aws import package, template


def _read_only(root: Path) -> None:
    for path in [root, *root.rglob("*")]:
        path.chmod(path.stat().st_mode & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))


def _writable(root: Path) -> None:
    for path in [root, *root.rglob("*")]:
        path.chmod(path.stat().st_mode | stat.S_IWUSR)


def test_every_module_ships_with_bytecode(tmp_path: Path) -> None:
    code = package.code(tmp_path / "code")
    sources = sorted(code.rglob("*.py"))
    assert {p.relative_to(code).parts[0] for p in sources} == set(package.PACKAGES)
    tag = sys.implementation.cache_tag
    for source in sources:
        assert (source.parent / "__pycache__" / f"{source.stem}.{tag}.pyc").is_file(), source
    assert not list(code.rglob("node_modules/**/*.py"))
    assert (code / "infra" / "template.yaml").is_file()  # read by the functions at run time


def test_a_read_only_copy_runs_from_its_bytecode_not_its_source(tmp_path: Path) -> None:
    code = package.code(tmp_path / "code")
    # Sources that would fail if Python compiled them again: only their bytecode can run.
    for module in ("shared/ids.py", "infra/aws/http.py"):
        (code / module).write_text("raise SystemExit('compiled from source')\n")
    _read_only(code)
    try:
        env = {**os.environ, "PYTHONPATH": str(code), "PYTHONDONTWRITEBYTECODE": "1"}
        done = subprocess.run(
            [sys.executable, "-c", "import shared.ids, infra.aws.http_requests as m; "
             "print(m.__file__)"], cwd=code, env=env, capture_output=True, text=True,
            timeout=60, check=False)
    finally:
        _writable(code)
    assert done.returncode == 0, done.stderr
    assert Path(done.stdout.strip()).is_relative_to(code)


def test_rebuilding_replaces_what_was_there(tmp_path: Path) -> None:
    code = package.code(tmp_path / "code")
    (code / "shared" / "stale.py").write_text("x = 1\n")
    package.code(code)
    assert not (code / "shared" / "stale.py").exists()


def test_the_build_refuses_another_python_than_the_runtime(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(package, "runtime_version", lambda: "2.7")
    assert package.main([str(tmp_path / "code")]) == 1
    assert not (tmp_path / "code").exists()


def test_every_function_and_the_layer_are_built_by_their_makefiles() -> None:
    resources = template.load()["Resources"]
    built = [r for r in resources.values()
             if r["Type"] in ("AWS::Serverless::Function", "AWS::Serverless::LayerVersion")]
    assert built and all(r["Metadata"]["BuildMethod"] == "makefile" for r in built)
    makefile = (package.ROOT / "Makefile").read_text()
    assert re.search(r"^build-%:", makefile, re.M)
    assert "-m infra.aws.package" in makefile
    layer = (package.ROOT / "infra" / "aws" / "layer" / "Makefile").read_text()
    assert "build-DependenciesLayer:" in layer and "unchecked-hash" in layer
    # Both compile with the runtime's Python: its bytecode is the only one it reads.
    version = package.runtime_version()
    assert f"PYTHON ?= python{version}" in makefile
    assert f"PYTHON ?= python{version}" in layer and f"--python-version {version}" in layer
