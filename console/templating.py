"""The console's Jinja environment, and its templates compiled ahead of time.

The Lambda package's build (infra/aws/package.py) compiles the templates to Python
modules beside them, which a function's console then loads without Jinja compiling any
at its cold start. Only Jinja and the kernel's clock are imported here: the build needs
nothing else."""

from __future__ import annotations

import shutil
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import jinja2

from shared.clock import in_brasilia

TEMPLATES = Path(__file__).parent / "templates"
COMPILED = Path(__file__).parent / "templates_compiled"
# Which Jinja compiled them: its generated code is for that version's runtime alone.
COMPILED_BY = "jinja2-version"
BRASILIA = ZoneInfo("America/Sao_Paulo")


def shortdate(value: str) -> str:
    """An ISO 8601 date or instant as its day, dd/mm/aaaa (in the offset it is written in:
    the platform writes UTC)."""
    try:
        at = datetime.fromisoformat(value)
    except ValueError:
        return value
    # Formatted by hand: strftime cost twenty times the parse.
    return f"{at.day:02d}/{at.month:02d}/{at.year}"


def local(value: str | None, with_time: bool = True) -> str:
    """An ISO 8601 instant in Brasília's time: dd/mm/aaaa hh:mm."""
    if not value:
        return "—"
    try:
        at = datetime.fromisoformat(value).astimezone(BRASILIA)
    except ValueError:
        return value
    # Formatted by hand: strftime cost twenty times the parse.
    day = f"{at.day:02d}/{at.month:02d}/{at.year}"
    return f"{day} {at.hour:02d}:{at.minute:02d}" if with_time else day


def when(value: str | datetime) -> str:
    """An instant as the mails say it: dd/mm/aaaa às HH:MM, Brasília time."""
    try:
        at = value if isinstance(value, datetime) else datetime.fromisoformat(value)
    except ValueError:
        return str(value)
    return in_brasilia(at)


def environment(loader: jinja2.BaseLoader, **options: Any) -> jinja2.Environment:
    """The console's Jinja environment; the same options and filters compile its
    templates ahead of time (the compiler reads both)."""
    env = jinja2.Environment(loader=loader, autoescape=True, undefined=jinja2.StrictUndefined,
                             trim_blocks=True, lstrip_blocks=True, **options)
    env.filters.update(shortdate=shortdate, brasilia=local, when=when)
    return env


def compile_templates(console: Path) -> Path:
    """The templates of the console package at ``console`` compiled into its
    ``templates_compiled`` (replacing any there); a template that does not compile fails
    the build."""
    target = console / COMPILED.name
    shutil.rmtree(target, ignore_errors=True)
    environment(jinja2.FileSystemLoader(console / TEMPLATES.name)).compile_templates(
        target, zip=None, ignore_errors=False)
    (target / COMPILED_BY).write_text(jinja2.__version__)
    return target


def loader(dev: bool, compiled: Path = COMPILED) -> jinja2.BaseLoader:
    """The compiled templates where the build left them, by the Jinja that runs them; else
    (a checkout, another Jinja, or `atende dev`, which picks up edits) the sources."""
    marker = compiled / COMPILED_BY
    if not dev and marker.is_file() and marker.read_text() == jinja2.__version__:
        return jinja2.ModuleLoader(compiled)
    return jinja2.FileSystemLoader(TEMPLATES)
