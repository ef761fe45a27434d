"""The attendant's panel, "Solicitações": the requests of their unit."""

from __future__ import annotations

from typing import Any

import falcon

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
        page = self.console.services.panel(p, PanelFilters(), cursor=req.get_param("cursor"))
        return {"requests": page.items, "next_cursor": page.next_cursor,
                "status_names": STATUS}


def register(console: Console) -> None:
    console.screen("/solicitacoes", Panel(console), menu="Solicitações", roles=("attendant",))
