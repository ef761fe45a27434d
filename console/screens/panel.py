"""The attendant's panel, "Solicitações": the requests of their unit, filtered by
**Situação**, **Atribuídas a mim** and **Atrasadas**, a page at a time."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import falcon

from console.screens.staff import install_filters, is_overdue
from console.services import PanelFilters
from console.web import Console, Page
from shared.identity import Principal

STATUS = {"submitted": "Enviada", "in_analysis": "Em análise", "rejected": "Reprovada",
          "in_service": "Em atendimento", "concluded": "Concluída"}


class Panel(Page):
    template = "panel.html"
    partial = "_panel_table.html"  # the next page, fetched by htmx
    title = "Solicitações"
    roles = frozenset({"attendant"})

    def view(self, req: falcon.Request, p: Principal | None, **params: Any) -> dict[str, Any]:
        assert p is not None
        status = req.get_param("situacao") or ""
        mine, late = req.get_param("minhas") == "sim", req.get_param("atrasadas") == "sim"
        filters = PanelFilters(statuses=(status,) if status in STATUS else (),
                               assignee="me" if mine else None, overdue=late)
        page = self.console.services.panel(p, filters, cursor=req.get_param("cursor"))
        now = self.console.clock.now()
        for item in page.items:
            item["overdue"] = is_overdue(item, now)
        chosen = {k: v for k, v in (("situacao", status if status in STATUS else ""),
                                    ("minhas", "sim" if mine else ""),
                                    ("atrasadas", "sim" if late else "")) if v}
        return {"requests": page.items, "next_cursor": page.next_cursor,
                "status_names": STATUS, "filters": chosen,
                "filter_query": urlencode(chosen)}


def register(console: Console) -> None:
    install_filters(console)
    console.screen("/solicitacoes", Panel(console), menu="Solicitações", roles=("attendant",))
