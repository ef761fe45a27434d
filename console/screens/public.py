"""Screens anyone sees: the start page and the public catalog."""

from __future__ import annotations

from typing import Any

import falcon

from console.web import Console, Page
from shared.identity import Principal


class Home(Page):
    """``/console/``: the catalog and **Entrar**; a signed-in person goes to their
    first screen."""

    template = "catalog.html"
    title = "Serviços disponíveis"

    def on_get(self, req: falcon.Request, resp: falcon.Response, **params: Any) -> None:
        p = self.console.person(req, self.roles)
        if p is not None and self.console.menu_for(p):
            raise falcon.HTTPSeeOther(self.console.home_for(p))
        super().on_get(req, resp, **params)

    def view(self, req: falcon.Request, p: Principal | None, **params: Any) -> dict[str, Any]:
        return {"services": self.console.services.catalog().items}


class Catalog(Page):
    template = "catalog.html"
    title = "Serviços"

    def view(self, req: falcon.Request, p: Principal | None, **params: Any) -> dict[str, Any]:
        return {"services": self.console.services.catalog().items}


def register(console: Console) -> None:
    # Both spellings: API Gateway's HTTP API routes /console, not /console/.
    home = Home(console)
    console.screen("", home)
    console.screen("/", home)
    console.screen("/servicos", Catalog(console), menu="Serviços", roles=("citizen",))
