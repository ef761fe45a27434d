"""The console's way to the services: their own handlers, called in process with the
person's Principal, the same functions their JSON resources call. Authorization,
validation and events all happen there; nothing here decides what a person may do.

Screens call methods of ``Services``; a screen that needs a new query or command adds a
method here that calls the service's handler (in a unit of work for commands, as
``shared.http.run_command`` does).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from services.requests import handlers as requests_h
from services.requests import store as requests_store
from shared.context import ServiceContext
from shared.identity import Principal

PanelFilters = requests_h.PanelFilters


@dataclass
class Page:
    items: list[dict[str, Any]]
    next_cursor: str | None


class Services:
    def __init__(self, contexts: dict[str, ServiceContext]) -> None:
        self.contexts = contexts

    @property
    def requests(self) -> ServiceContext:
        return self.contexts["requests"]

    def attendant_enabled(self, p: Principal) -> bool:
        """Whether the roster lists this attendant as enabled."""
        if not p.org:
            return False
        with self.requests.uow() as uow:
            entry = requests_store.get_attendant(uow, p.org, p.sub)
        return bool(entry and entry["enabled"])

    def catalog(self, limit: int = 50, cursor: str | None = None) -> Page:
        page = requests_h.list_services(self.requests.table, limit, cursor)
        return Page([s.model_dump(mode="json") for s in page.items], page.next_cursor)

    def panel(self, p: Principal, filters: PanelFilters, limit: int = 20,
              cursor: str | None = None) -> Page:
        ctx = self.requests
        page = requests_h.panel(ctx.table, p, filters, limit, cursor, ctx.clock.now())
        return Page(orjson.loads(page.items), page.next_cursor)
