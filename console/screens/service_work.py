"""The assignee's work on a request in service: follow-ups with files (and their history,
refreshed by htmx polling), meetings (schedule, reschedule, cancel, invite, join) and the
conclusion, **Concluir Solicitação**."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from datetime import datetime
from typing import Any

import falcon

from console.attendance import Attendance
from console.forms import Form, posted_files
from console.screens import request_detail as detail
from console.screens.staff import attempt, attendance, request_url, staff
from console.templating import BRASILIA
from console.web import Console
from shared.errors import DomainError, NotFound
from shared.http import send_file
from shared.identity import Principal

MEETING_LABELS = {"data": "Data", "hora": "Hora", "assunto": "Assunto",
                  "duracao": "Duração (minutos)"}
MEETING_FIELDS = {"starts_at": "data", "subject": "assunto", "duration_minutes": "duracao"}


def history(svc: Attendance, p: Principal, request_id: str) -> list[dict[str, Any]]:
    """Every follow-up, both directions, oldest first; none while the followups service
    has not yet learned of the request."""
    try:
        return svc.followups(p, request_id)
    except NotFound:
        return []


def meeting_list(svc: Attendance, p: Principal, request_id: str) -> list[dict[str, Any]]:
    try:
        return svc.meetings(p, request_id)
    except NotFound:
        return []


def _meeting_body(form: Form, partial: bool = False) -> dict[str, Any]:
    """The meeting's fields as the API takes them: the date and time typed are Brasília's."""
    body: dict[str, Any] = {}
    if not partial:
        form.require("data", "hora", "assunto", "duracao")
    if form.value("data") and form.value("hora"):
        try:
            at = datetime.fromisoformat(f"{form.value('data')}T{form.value('hora')}")
            body["starts_at"] = at.replace(tzinfo=BRASILIA).isoformat()
        except ValueError:
            form.add("data", "Informe uma data e hora válidas.")
    if form.value("assunto").strip():
        body["subject"] = form.value("assunto")
    if form.value("duracao").strip():
        raw = form.value("duracao").strip()
        if raw.isascii() and raw.isdigit():
            body["duration_minutes"] = int(raw)
        else:
            form.add("duracao", "Informe um número inteiro.")
    return body


class _Screen:
    def __init__(self, console: Console) -> None:
        self.console = console


class Followups(_Screen):
    """``POST /acompanhamentos``: **Mensagem** and **Anexos** (multipart, plain post)."""

    def on_post(self, req: falcon.Request, resp: falcon.Response, request_id: str) -> None:
        p = staff(self.console, req)
        form = Form.posted(req, labels={"mensagem": "Mensagem", "anexos": "Anexos"})
        status = 422
        form.require("mensagem")
        files = [f for f in posted_files(req) if f.name == "anexos"]
        if form.ok:
            _, status = attempt(form, lambda: attendance(self.console).post_followup(
                p, request_id, form.value("mensagem"), files),
                {"body": "mensagem", "file": "anexos"}, default="anexos")
        if not form.ok:
            return detail.show(self.console, req, resp, p, request_id, form=form,
                               status=status)
        raise falcon.HTTPSeeOther(request_url(request_id, "?aviso=acompanhamento#historico"))


class History(_Screen):
    """``GET /historico``: the history's list alone, what htmx polls."""

    def on_get(self, req: falcon.Request, resp: falcon.Response, request_id: str) -> None:
        p = staff(self.console, req)
        if req.get_header("HX-Request") != "true":
            raise falcon.HTTPSeeOther(request_url(request_id, "#historico"))
        items = history(attendance(self.console), p, request_id)
        if req.get_param("n") == str(len(items)):
            resp.status = falcon.HTTP_204  # nothing new: htmx leaves the list alone
            return
        self.console.render(req, resp, "request_history.html", title="Histórico",
                            followups=items, r={"id": request_id})


class Attachment(_Screen):
    def on_get(self, req: falcon.Request, resp: falcon.Response, request_id: str,
               followup_id: str, attachment_id: str) -> None:
        p = staff(self.console, req)
        data, ctype, name = attendance(self.console).attachment(p, request_id, followup_id,
                                                                attachment_id)
        send_file(resp, data, ctype, name)


class Meetings(_Screen):
    """``POST /reunioes``: **Agendar**."""

    def on_post(self, req: falcon.Request, resp: falcon.Response, request_id: str) -> None:
        p = staff(self.console, req)
        form = Form.posted(req, labels=dict(MEETING_LABELS))
        status = 422
        body = _meeting_body(form)
        if form.ok:
            _, status = attempt(form, lambda: attendance(self.console).schedule(
                p, request_id, body), MEETING_FIELDS, default="data")
        if not form.ok:
            return detail.show(self.console, req, resp, p, request_id, form=form,
                               status=status)
        raise falcon.HTTPSeeOther(request_url(request_id, "?aviso=reuniao#reunioes"))


class _MeetingPage(_Screen, ABC):
    """A meeting's page and its one form: a subclass names the address's last part (which
    also picks the form), the fields it requires, the command the form runs (and how the
    service's field names map to the form's) and the status message it leads to."""

    template = "request_meeting.html"
    action = title = notice = default = ""
    labels: dict[str, str] = {}
    required: tuple[str, ...] = ()
    fields: dict[str, str] = {}
    own_name = False  # the form starts with the person's name in "nome"

    @abstractmethod
    def command(self, p: Principal, request_id: str, meeting_id: str,
                form: Form) -> Callable[[], Any]:
        """The service call the posted form makes, ready to run."""

    def page(self, req: falcon.Request, resp: falcon.Response, p: Principal,
             request_id: str, meeting_id: str, form: Form, status: int = 200,
             **extra: Any) -> None:
        svc = attendance(self.console, req)  # the detail below reads the same items
        meeting = next((m for m in meeting_list(svc, p, request_id) if m["id"] == meeting_id),
                       None)
        if meeting is None:
            raise NotFound("no such meeting")
        detail.show(self.console, req, resp, p, request_id, form=form, status=status,
                    template=self.template, title=self.title, meeting=meeting,
                    action=self.action, **extra)

    def on_get(self, req: falcon.Request, resp: falcon.Response, request_id: str,
               meeting_id: str) -> None:
        p = staff(self.console, req)
        values = {"nome": p.display_name} if self.own_name else {}
        self.page(req, resp, p, request_id, meeting_id,
                  Form(values=values, labels=dict(self.labels)))

    def on_post(self, req: falcon.Request, resp: falcon.Response, request_id: str,
                meeting_id: str) -> None:
        p = staff(self.console, req)
        form = Form.posted(req, labels=dict(self.labels))
        status = 422
        form.require(*self.required)
        command = self.command(p, request_id, meeting_id, form)  # may find more errors
        if form.ok:
            result, status = attempt(form, command, self.fields, default=self.default)
        if not form.ok:
            return self.page(req, resp, p, request_id, meeting_id, form, status)
        self.done(req, resp, p, request_id, meeting_id, form, result)

    def done(self, req: falcon.Request, resp: falcon.Response, p: Principal,
             request_id: str, meeting_id: str, form: Form, result: Any) -> None:
        raise falcon.HTTPSeeOther(request_url(request_id, f"?aviso={self.notice}#reunioes"))


class Join(_MeetingPage):
    """**Acessar**: **Seu nome**, then the room's link, to open in a new tab."""

    action, title = "acessar", "Acessar reunião"
    labels = {"nome": "Seu nome"}
    required, fields, default = ("nome",), {"display_name": "nome"}, "nome"
    own_name = True

    def command(self, p: Principal, request_id: str, meeting_id: str,
                form: Form) -> Callable[[], Any]:
        return lambda: attendance(self.console).join(p, request_id, meeting_id,
                                                     form.value("nome"))

    def done(self, req: falcon.Request, resp: falcon.Response, p: Principal,
             request_id: str, meeting_id: str, form: Form, result: Any) -> None:
        self.page(req, resp, p, request_id, meeting_id, form, room=result)


class Invite(_MeetingPage):
    action, title, notice = "convidar", "Convidar para a reunião", "convite"
    labels = {"nome": "Nome", "email": "E-mail"}
    required, fields, default = ("nome", "email"), {"name": "nome", "email": "email"}, "email"

    def command(self, p: Principal, request_id: str, meeting_id: str,
                form: Form) -> Callable[[], Any]:
        return lambda: attendance(self.console).invite(
            p, request_id, meeting_id, form.value("nome"), form.value("email"))


class Reschedule(_MeetingPage):
    action, title, notice = "remarcar", "Remarcar reunião", "remarcada"
    labels = dict(MEETING_LABELS)
    required, fields, default = ("data", "hora"), MEETING_FIELDS, "data"

    def command(self, p: Principal, request_id: str, meeting_id: str,
                form: Form) -> Callable[[], Any]:
        body = _meeting_body(form, partial=True)
        return lambda: attendance(self.console).reschedule(p, request_id, meeting_id, body)


class Cancel(_Screen):
    def on_post(self, req: falcon.Request, resp: falcon.Response, request_id: str,
                meeting_id: str) -> None:
        p = staff(self.console, req)
        try:
            attendance(self.console).cancel(p, request_id, meeting_id)
        except DomainError as exc:
            if isinstance(exc, NotFound):
                raise
            form = Form()
            form.take(exc)
            return detail.show(self.console, req, resp, p, request_id, form=form,
                               status=exc.status)
        raise falcon.HTTPSeeOther(request_url(request_id, "?aviso=cancelada#reunioes"))


class Conclude(_Screen):
    """**Concluir Solicitação**: **Resumo**, **Arquivo (PDF)**, **Finalizar**."""

    labels = {"resumo": "Resumo", "arquivo": "Arquivo (PDF)"}

    def page(self, req: falcon.Request, resp: falcon.Response, p: Principal,
             request_id: str, form: Form, status: int = 200) -> None:
        detail.show(self.console, req, resp, p, request_id, form=form, status=status,
                    template="request_conclude.html", title="Concluir Solicitação")

    def on_get(self, req: falcon.Request, resp: falcon.Response, request_id: str) -> None:
        p = staff(self.console, req)
        self.page(req, resp, p, request_id, Form(labels=dict(self.labels)))

    def on_post(self, req: falcon.Request, resp: falcon.Response, request_id: str) -> None:
        p = staff(self.console, req)
        form = Form.posted(req, labels=dict(self.labels))
        status = 422
        form.require("resumo")
        files = [f for f in posted_files(req) if f.name == "arquivo"]
        if form.ok:
            _, status = attempt(form, lambda: attendance(self.console).conclude(
                p, request_id, form.value("resumo"), files[0] if files else None),
                {"summary": "resumo", "file": "arquivo"}, default="arquivo")
        if not form.ok:
            return self.page(req, resp, p, request_id, form, status)
        raise falcon.HTTPSeeOther(request_url(request_id, "?aviso=concluida"))


def register(console: Console) -> None:
    base = "/solicitacoes/{request_id}"
    console.screen(base + "/acompanhamentos", Followups(console))
    console.screen(base + "/historico", History(console))
    console.screen(base + "/acompanhamentos/{followup_id}/anexos/{attachment_id}",
                   Attachment(console))
    console.screen(base + "/reunioes", Meetings(console))
    console.screen(base + "/reunioes/{meeting_id}/acessar", Join(console))
    console.screen(base + "/reunioes/{meeting_id}/convidar", Invite(console))
    console.screen(base + "/reunioes/{meeting_id}/remarcar", Reschedule(console))
    console.screen(base + "/reunioes/{meeting_id}/cancelar", Cancel(console))
    console.screen(base + "/concluir", Conclude(console))
