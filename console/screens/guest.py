"""The guest's door: the invitation's link opens **Seu nome** and **Entrar na reunião**,
no login. The meetings service judges the invitation and the time; a page in words says
why the door is shut (before the window, after the meeting, cancelled).

The invitation's code travels in the query (``/console/convite?codigo=…``), never in the
path: the access log writes paths, and the code is a credential."""

from __future__ import annotations

from typing import Any

import falcon

from console.forms import Form
from console.login import _anonymous as anonymous_session
from console.screens.citizen import meeting_refusal, room
from console.web import Console
from shared.errors import DomainError, NotFound

LABELS = {"nome": "Seu nome", "codigo": "Código do convite"}
UNKNOWN = "Convite não encontrado: confira o código recebido por e-mail."


class Invitation:
    template = "guest_join.html"
    title = "Entrar na reunião"

    def __init__(self, console: Console) -> None:
        self.console = console

    def show(self, req: falcon.Request, resp: falcon.Response, form: Form, status: int,
             shut: str | None = None, linked: bool = False) -> None:
        self.console.render(req, resp, self.template, title=self.title, status=status,
                            form=form, shut=shut, linked=linked, show_menu=False)

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        anonymous_session(self.console, req, resp)  # the form's CSRF token lives there
        code = (req.get_param("codigo") or "").strip()
        form = Form(values={"codigo": code}, labels=LABELS)
        shut, status = None, 200
        if code:
            try:
                self.console.services.guest_may_join(code)
            except NotFound:
                form.add("codigo", UNKNOWN)
                status = 404
            except DomainError as exc:
                shut = meeting_refusal(exc) or "Não é possível entrar nesta reunião agora."
                status = 409
        self.show(req, resp, form, status, shut, linked=bool(code) and status == 200)

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        form = Form.posted(req, labels=LABELS)
        form.require("nome", "codigo")
        linked = form.value("linked") == "1" and bool(form.value("codigo"))
        shut = None
        if form.ok:
            try:
                link: dict[str, Any] = self.console.services.guest_join(
                    form.value("codigo").strip(), form.value("nome"))
            except NotFound:
                form.add("codigo", UNKNOWN)
                linked = False
            except DomainError as exc:
                shut = meeting_refusal(exc)
                if shut is None:
                    form.take(exc, {"display_name": "nome", "invite_token": "codigo"},
                              default="nome")
            else:
                room(self.console, req, resp, link)
                return
        self.show(req, resp, form, 409 if shut else 422, shut, linked)


def register(console: Console) -> None:
    console.screen("/convite", Invitation(console))
