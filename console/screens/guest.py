"""The guest's door: an invitation's link opens **Seu nome** and **Entrar na reunião**,
no login. The meetings service judges the invitation and the time; a page in words says
why the door is shut (before the window, after the meeting, cancelled, unknown)."""

from __future__ import annotations

from typing import Any

import falcon

from console.forms import Form
from console.login import _anonymous as anonymous_session
from console.screens.citizen import meeting_refusal, room
from console.web import Console
from shared.errors import DomainError, NotFound


class Invitation:
    template = "guest_join.html"
    title = "Entrar na reunião"

    def __init__(self, console: Console) -> None:
        self.console = console

    def show(self, req: falcon.Request, resp: falcon.Response, form: Form, status: int,
             shut: str | None = None) -> None:
        self.console.render(req, resp, self.template, title=self.title, status=status,
                            form=form, shut=shut, show_menu=False)

    def on_get(self, req: falcon.Request, resp: falcon.Response, token: str) -> None:
        anonymous_session(self.console, req, resp)  # the form's CSRF token lives there
        shut = None
        try:
            self.console.services.guest_may_join(token)
        except NotFound:
            raise
        except DomainError as exc:
            shut = meeting_refusal(exc) or "Não é possível entrar nesta reunião agora."
        self.show(req, resp, Form(labels={"nome": "Seu nome"}), 409 if shut else 200, shut)

    def on_post(self, req: falcon.Request, resp: falcon.Response, token: str) -> None:
        form = Form.posted(req, labels={"nome": "Seu nome"})
        form.require("nome")
        shut = None
        if form.ok:
            try:
                link: dict[str, Any] = self.console.services.guest_join(token,
                                                                        form.value("nome"))
            except NotFound:
                raise
            except DomainError as exc:
                shut = meeting_refusal(exc)
                if shut is None:
                    form.take(exc, {"display_name": "nome"}, default="nome")
            else:
                room(self.console, req, resp, link)
                return
        self.show(req, resp, form, 409 if shut else 422, shut)


def register(console: Console) -> None:
    console.screen("/convite/{token}", Invitation(console))
