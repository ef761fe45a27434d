"""The console's stand-in for another service's module (console/lazy.py)."""

from __future__ import annotations

import importlib
from types import ModuleType

import pytest

from console.lazy import LazyModule


def test_the_module_is_imported_once_and_its_names_read_live(
        monkeypatch: pytest.MonkeyPatch) -> None:
    imports: list[str] = []
    real = importlib.import_module

    def counted(name: str, package: str | None = None) -> ModuleType:
        imports.append(name)
        return real(name, package)

    monkeypatch.setattr(importlib, "import_module", counted)
    lazy = LazyModule("services.meetings.schemas")
    first = lazy.MeetingIn
    assert lazy.GuestIn is real("services.meetings.schemas").GuestIn
    assert lazy.MeetingIn is first
    # A page's later reads skip the import machinery altogether.
    assert imports == ["services.meetings.schemas"]
    # Names are still the module's own at the time of the read: one replaced there is seen.
    monkeypatch.setattr(real("services.meetings.schemas"), "GuestIn", int)
    assert lazy.GuestIn is int
