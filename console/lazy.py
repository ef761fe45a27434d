"""Another service's module, imported where the console first uses it."""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any


class LazyModule(ModuleType):
    """Stands for the module of its name, imported at the first read of one of its names:
    the meetings', reviews' and followups' handlers serve the pages that show them, and a
    console's first page (the login, the panel) needs none of them."""

    def __getattr__(self, name: str) -> Any:
        return getattr(importlib.import_module(self.__name__), name)
