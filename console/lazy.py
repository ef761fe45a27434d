"""Other services' modules, imported where the console first uses them: the meetings',
reviews' and followups' handlers serve the pages that show them, and a console's first
page (the login, the panel) needs none of them."""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import TYPE_CHECKING, Any


class LazyModule(ModuleType):
    """Stands for the module of its name, imported at the first read of one of its names."""

    def __getattr__(self, name: str) -> Any:
        # The module, once imported, is kept: the import machinery's lookup on every read
        # (a page reads two or three of these names) cost more than the read. Its names are
        # still read from it each time, so one replaced there (a test's) is the one used.
        module = self.__dict__.get("_lazy_target")
        if module is None:
            module = self.__dict__["_lazy_target"] = importlib.import_module(self.__name__)
        return getattr(module, name)


if TYPE_CHECKING:
    from services.followups import handlers as followups_h
    from services.meetings import handlers as meetings_h
    from services.meetings import schemas as meetings_in
    from services.reviews import handlers as reviews_h
    from services.reviews import schemas as reviews_in
    from services.reviews import views as reviews_views
else:
    followups_h = LazyModule("services.followups.handlers")
    meetings_h = LazyModule("services.meetings.handlers")
    meetings_in = LazyModule("services.meetings.schemas")
    reviews_h = LazyModule("services.reviews.handlers")
    reviews_in = LazyModule("services.reviews.schemas")
    reviews_views = LazyModule("services.reviews.views")
