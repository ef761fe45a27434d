"""The attendant's panel, "Solicitações": the requests of their unit, filtered by
**Situação**, **Atribuídas a mim** and **Atrasadas**, a page at a time."""

from __future__ import annotations

from collections.abc import Callable
from functools import cached_property
from typing import Any
from urllib.parse import urlencode

import falcon
from markupsafe import Markup

from console.screens.staff import install_filters
from console.services import PanelFilters
from console.web import Console, NotReleased, Page, keep
from shared.clock import iso
from shared.errors import AttendantNotEnabled
from shared.identity import Principal

STATUS = {"submitted": "Enviada", "in_analysis": "Em análise", "rejected": "Reprovada",
          "in_service": "Em atendimento", "concluded": "Concluída"}


OPEN = frozenset({"submitted", "in_analysis", "in_service"})
Key = tuple[str, str, str, str, str | None, bool, str | None]


class Rows:
    """The panel's rows as HTML, each kept by everything it shows, and the tables made of
    them likewise: a panel is read far more often than its rows change, and rendering a
    row (escaping each value, looking up attributes, formatting its date) was most of the
    page's cost. A row that changes shows something else, so it finds no stale entry;
    the oldest entries go first once ``size`` are kept."""

    def __init__(self, row: Callable[..., str], table: Callable[..., str] | None = None,
                 size: int = 4096) -> None:
        self.row, self.table, self.size = row, table, size
        self.kept: dict[Key, Markup] = {}
        self.tables: dict[tuple[Any, ...], Markup] = {}

    def keys(self, items: list[dict[str, Any]], now: str) -> tuple[Key, ...]:
        out = []
        for r in items:
            due, assignee, status = r.get("due_at"), r.get("assignee"), r["status"]
            # The platform writes instants in UTC at a fixed width: they sort as strings.
            out.append((r["id"], r["citizen_name"], r["service_name"], status, due,
                        isinstance(due, str) and status in OPEN and due < now,
                        assignee["name"] if assignee else None))
        return tuple(out)

    def html(self, items: list[dict[str, Any]], now: str) -> Markup:
        return self._rows(self.keys(items, now))

    def _rows(self, keys: tuple[Key, ...]) -> Markup:
        out = []
        kept = self.kept
        for key in keys:
            row = kept.get(key)
            if row is None:
                row = Markup(self.row(key[0], key[1], key[2], STATUS.get(key[3], key[3]),
                                      *key[4:]))
                keep(kept, key, row, self.size)
            out.append(row)
        return Markup("".join(out))

    def table_html(self, items: list[dict[str, Any]], now: str, **frame: Any) -> Markup:
        """The whole table: its rows and ``frame``, what else it shows (the pager)."""
        assert self.table is not None
        keys = self.keys(items, now)
        key = (keys, *sorted(frame.items()))
        table = self.tables.get(key)
        if table is None:
            table = Markup(self.table(rows=self._rows(keys), **frame))
            keep(self.tables, key, table, self.size // 8)
        return table


class Panel(Page):
    template = "panel.html"
    partial = "_panel_fragment.html"  # the next page, fetched by htmx
    title = "Solicitações"
    roles = frozenset({"attendant"})
    roster_in_view = True  # the panel's handler requires an enabled attendant

    @cached_property
    def rows(self) -> Rows:
        """Its templates compiled for the panel's first page, not with the console, whose
        first page (a function's cold start) may well be another."""
        env = self.console.env
        return Rows(env.get_template("_panel_row.html").module.row,  # type: ignore[attr-defined]
                    env.get_template("_panel_table.html").render)

    def view(self, req: falcon.Request, p: Principal | None, **params: Any) -> dict[str, Any]:
        assert p is not None
        status = req.get_param("situacao") or ""
        mine, late = req.get_param("minhas") == "sim", req.get_param("atrasadas") == "sim"
        filters = PanelFilters(statuses=(status,) if status in STATUS else (),
                               assignee="me" if mine else None, overdue=late)
        try:
            page = self.console.services.panel(p, filters, cursor=req.get_param("cursor"))
        except AttendantNotEnabled as exc:
            raise NotReleased("this attendant's profile is not enabled") from exc
        chosen = {k: v for k, v in (("situacao", status if status in STATUS else ""),
                                    ("minhas", "sim" if mine else ""),
                                    ("atrasadas", "sim" if late else "")) if v}
        table = self.rows.table_html(page.items, iso(self.console.clock.now()),
                                     next_cursor=page.next_cursor,
                                     filter_query=urlencode(chosen))
        return {"table": table, "status_names": STATUS, "filters": chosen}


def register(console: Console) -> None:
    install_filters(console)
    console.screen("/solicitacoes", Panel(console), menu="Solicitações", roles=("attendant",))
