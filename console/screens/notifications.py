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
        # A citizen's request has its page under Minhas solicitações; staff's, the panel's.
        where = "minhas-solicitacoes" if p.has("citizen") else "solicitacoes"
        return {"notes": self.console.services.notifications(p),
                "request_path": f"{PREFIX}/{where}/", "read_now": req.get_param("lida")}

    def on_post(self, req: falcon.Request, resp: falcon.Response, note_id: str) -> None:
        p = self.console.person(req, self.roles)
        assert p is not None
        self.console.services.mark_read(p, note_id)
        raise falcon.HTTPSeeOther(f"{PREFIX}/notificacoes?lida={note_id}")


def register(console: Console) -> None:
    screen = Notifications(console)
    console.screen("/notificacoes", screen, menu="Notificações",
                   roles=("citizen", "attendant", "registrar"))
    console.screen("/notificacoes/{note_id}/lida", screen)
