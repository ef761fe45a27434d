"""**Notificações**: anyone signed in (citizen or staff) reads theirs, unread first, and
marks each one read."""

from __future__ import annotations

from typing import Any

import falcon

from console.web import PREFIX, Console, Page
from shared.identity import Principal

EVERYONE = frozenset({"citizen", "attendant", "registrar"})


class Notifications(Page):
    template = "citizen_notifications.html"
    title = "Notificações"
    roles = EVERYONE

    def view(self, req: falcon.Request, p: Principal | None, **params: Any) -> dict[str, Any]:
        assert p is not None
        return {"notes": self.console.services.notifications(p),
                "read_now": req.get_param("lida")}

    def on_post(self, req: falcon.Request, resp: falcon.Response, note_id: str) -> None:
        p = self.console.person(req, self.roles)
        assert p is not None
        self.console.services.mark_read(p, note_id)
        raise falcon.HTTPSeeOther(f"{PREFIX}/notificacoes?lida={note_id}")


class RequestLink:
    """``/console/solicitacao/{id}``, the link in the mails: the request's page for whoever
    follows it, the citizen's or the staff's (the screens judge who may see it)."""

    def __init__(self, console: Console) -> None:
        self.console = console

    def on_get(self, req: falcon.Request, resp: falcon.Response, request_id: str) -> None:
        p = self.console.person(req, EVERYONE)
        assert p is not None
        where = "minhas-solicitacoes" if p.has("citizen") else "solicitacoes"
        raise falcon.HTTPSeeOther(f"{PREFIX}/{where}/{request_id}")


def register(console: Console) -> None:
    console.screen("/solicitacao/{request_id}", RequestLink(console))
    screen = Notifications(console)
    console.screen("/notificacoes", screen, menu="Notificações",
                   roles=("citizen", "attendant", "registrar"))
    console.screen("/notificacoes/{note_id}/lida", screen)
