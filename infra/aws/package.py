"""The functions' code as deployed, with its bytecode.

A Lambda function's code directory is read-only: Python cannot write the ``__pycache__``
it would otherwise keep, so a package shipped as source is compiled again at every cold
start. Hence ``sam build`` builds the functions through this module (the repository's
``Makefile``), and the layer likewise (``infra/aws/layer/Makefile``), with unchecked hashes:
such a ``.pyc`` is used as it is, without comparing it with its source's modification
time (which the zip does not keep faithfully). The build must run on the runtime's
Python version, whose bytecode is the only one the runtime reads; ``infra/bench/cold.py``
runs the functions from this very build.

    python -m infra.aws.package ARTIFACTS_DIR
"""

from __future__ import annotations

import compileall
import py_compile
import re
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "infra" / "template.yaml"
PACKAGES = ("shared", "services", "infra", "console")
# The console serves these from its npm packages (console/assets.py); the rest of
# node_modules (sources, other builds) stays out of the function.
ASSETS = ("@govbr-ds/core/dist", "htmx.org/dist", "@fontsource/raleway/files")


def compile_tree(path: Path) -> None:
    """Every module under ``path`` to bytecode the runtime uses without checking."""
    if not compileall.compile_dir(path, quiet=1, workers=0,
                                  invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH):
        raise RuntimeError(f"some module under {path} does not compile")


def code(dest: Path, root: Path = ROOT) -> Path:
    """The project's packages into ``dest`` (replacing any there), with their bytecode."""
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "node_modules",
                                    "templates_compiled")
    for package in PACKAGES:
        shutil.rmtree(dest / package, ignore_errors=True)
        shutil.copytree(root / package, dest / package, ignore=ignore)
    modules = root / "console" / "node_modules"
    for assets in ASSETS:  # absent before `atende assets`: the console then says so
        if (modules / assets).is_dir():
            shutil.copytree(modules / assets, dest / "console" / "node_modules" / assets)
    from console.templating import compile_templates

    compile_templates(dest / "console")  # before the bytecode: they are modules too
    compile_tree(dest)
    return dest


def runtime_version(template: Path = TEMPLATE) -> str:
    """The functions' Python version, from the template's Globals (``python3.12``)."""
    found = re.search(r"^\s+Runtime:\s*python(\d+\.\d+)\s*$", template.read_text(), re.M)
    if found is None:
        raise RuntimeError(f"no python Runtime in {template}")
    return found.group(1)


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    wanted, running = runtime_version(), f"{sys.version_info.major}.{sys.version_info.minor}"
    if wanted != running:  # its bytecode would be ignored, and compiled at each start
        print(f"build with Python {wanted} (the functions' runtime), not {running}: "
              f"e.g. make PYTHON=python{wanted}", file=sys.stderr)
        return 1
    code(Path(argv[0]))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
