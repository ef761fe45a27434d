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
        # The module, once imported, is kept: the import machinery's lookup on every read
        # (a page reads two or three of these names) cost more than the read. Its names are
        # still read from it each time, so one replaced there (a test's) is the one used.
        module = self.__dict__.get("_lazy_target")
        if module is None:
            module = self.__dict__["_lazy_target"] = importlib.import_module(self.__name__)
        return getattr(module, name)
