"""infra/aws/package.py: the functions' code as `sam build` ships it, its bytecode used as
it is from a read-only directory."""

from __future__ import annotations

import ast
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


_CONSOLE_PAGE = """import sys, jinja2
from falcon import testing
from infra.bootstrap import build
from shared.settings import Settings

p = build(Settings(data_dir=sys.argv[1]), services=("requests",))
got = testing.TestClient(p.console).simulate_get("/console", protocol="https")
assert got.status_code == 200, got.text
print(got.text)
"""


def _first_page(code: Path, data: Path) -> tuple[str, list[str]]:
    env = {**os.environ, "PYTHONPATH": str(code), "PYTHONDONTWRITEBYTECODE": "1"}
    # Every template Jinja compiles goes through Environment._compile: counted here.
    probe = ("import jinja2; compiled = []; "
             "orig = jinja2.Environment._compile; "
             "jinja2.Environment._compile = lambda self, *a: compiled.append(a[1]) or "
             "orig(self, *a); "
             f"exec({_CONSOLE_PAGE!r}); print('COMPILED', compiled)")
    done = subprocess.run([sys.executable, "-c", probe, str(data)], cwd=code, env=env,
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    page, _, compiled = done.stdout.rpartition("COMPILED ")
    return page, ast.literal_eval(compiled)


def test_a_packaged_console_renders_from_its_compiled_templates(tmp_path: Path) -> None:
    """The build compiles the console's templates: the first page renders without Jinja
    compiling one, the same page as from the sources, which are no longer read."""
    code = package.code(tmp_path / "code")
    compiled = code / "console" / "templates_compiled"
    assert len(list(compiled.glob("*.py"))) == len(list(
        (package.ROOT / "console" / "templates").glob("*.html")))
    assert len(list((compiled / "__pycache__").glob("*.pyc"))) == len(list(
        compiled.glob("*.py")))
    from_sources, compiled_then = _first_page(package.ROOT, tmp_path / "a")
    assert compiled_then  # from a checkout, Jinja compiles what the page uses
    for source in (code / "console" / "templates").glob("*.html"):
        source.write_text("{% broken")
    _read_only(code)
    try:
        packaged, compiled_now = _first_page(code, tmp_path / "b")
    finally:
        _writable(code)
    assert compiled_now == []
    assert packaged == from_sources


def test_compiled_templates_from_another_jinja_are_not_used(tmp_path: Path) -> None:
    """Jinja's generated code is for its own version's runtime: another's, or `atende
    dev` (which picks up edits), renders from the sources."""
    import jinja2

    from console import templating

    compiled = templating.compile_templates(package.code(tmp_path / "code") / "console")
    assert isinstance(templating.loader(False, compiled), jinja2.ModuleLoader)
    assert isinstance(templating.loader(True, compiled), jinja2.FileSystemLoader)
    (compiled / templating.COMPILED_BY).write_text("2.0.0")
    assert isinstance(templating.loader(False, compiled), jinja2.FileSystemLoader)
    assert isinstance(templating.loader(False, tmp_path / "none"), jinja2.FileSystemLoader)
