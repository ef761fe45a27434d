"""**Notificações**: one screen for every signed-in person (attendant, citizen,
registrar): their notifications, unread first, each with **Marcar como lida**."""

from __future__ import annotations

import falcon

from console.screens.staff import attendance, install_filters
from console.web import PREFIX, Console

EVERYONE = ("attendant", "registrar", "citizen")


class Inbox:
    def __init__(self, console: Console) -> None:
        self.console = console

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        p = self.console.person(req, frozenset(EVERYONE))
        assert p is not None
        items, next_cursor = attendance(self.console).notifications(p, req.get_param("cursor"))
        items.sort(key=lambda n: n["read"])  # stable: newest first within each group
        notice = "Notificação marcada como lida." if req.get_param("aviso") == "lida" else None
        self.console.render(req, resp, "notifications.html", title="Notificações",
                            items=items, next_cursor=next_cursor, notice=notice)


class MarkRead:
    def __init__(self, console: Console) -> None:
        self.console = console

    def on_post(self, req: falcon.Request, resp: falcon.Response, note_id: str) -> None:
        p = self.console.person(req, frozenset(EVERYONE))
        assert p is not None
        attendance(self.console).mark_read(p, note_id)  # not the person's: 404 page
        raise falcon.HTTPSeeOther(f"{PREFIX}/notificacoes?aviso=lida")


def register(console: Console) -> None:
    install_filters(console)
    console.screen("/notificacoes", Inbox(console), menu="Notificações", roles=EVERYONE)
    console.screen("/notificacoes/{note_id}/lida", MarkRead(console))
