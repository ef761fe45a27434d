"""A request's detail for the institution's staff, and its analysis: **Iniciar Análise**,
per step **Sim** / **Não**, **Aprovar** to a colleague, **Reprovar** with a justification,
and the documents' downloads. Every action is a plain form post answered by a redirect to
the detail (with a status message) or, on an error, the same screen with the message by
its field and what was typed."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

import falcon

from console.forms import Form
from console.screens import service_work
from console.screens.panel import STATUS
from console.screens.staff import (
    attempt,
    attendance,
    install_filters,
    request_url,
    staff,
)
from console.web import Console, NotReleased, reads_of
from shared.errors import AttendantNotEnabled, DomainError, NotFound
from shared.http import send_file
from shared.identity import Principal

VERDICT = {"approved": "Aprovado", "rejected": "Reprovado", None: "Aguardando"}
NOTICES = {
    "analise": "Análise iniciada.",
    "etapa": "Verificação registrada.",
    "aprovada": "Solicitação aprovada e atribuída.",
    "reprovada": "Solicitação reprovada.",
    "acompanhamento": "Acompanhamento enviado.",
    "reuniao": "Reunião agendada.",
    "remarcada": "Reunião remarcada.",
    "cancelada": "Reunião cancelada.",
    "convite": "Convite enviado.",
    "concluida": "Solicitação concluída.",
}
EVENTS = {"RequestSubmitted": "Solicitação enviada", "DocumentAdded": "Documento enviado",
          "AnalysisStarted": "Análise iniciada", "StepChecked": "Etapa verificada",
          "RequestRejected": "Solicitação reprovada", "RequestApproved": "Solicitação aprovada",
          "RequestReassigned": "Atendimento transferido",
          "RequestConcluded": "Solicitação concluída",
          "FollowupPosted": "Acompanhamento enviado", "MeetingScheduled": "Reunião agendada",
          "MeetingRescheduled": "Reunião remarcada", "MeetingCanceled": "Reunião cancelada",
          "GuestInvited": "Convidado chamado para a reunião",
          "MeetingJoined": "Entrada na reunião", "MeetingReminderDue": "Lembrete de reunião",
          "ReviewSubmitted": "Atendimento avaliado", "ReviewModerated": "Comentário moderado"}
LABELS = {"justificativa": "Justificativa", "atendente": "Atendente"}


class Detail:
    """``GET /solicitacoes/{id}``: everything about the request, the actions its state
    and the person allow."""

    def __init__(self, console: Console) -> None:
        self.console = console

    def on_get(self, req: falcon.Request, resp: falcon.Response, request_id: str) -> None:
        with reads_of(req, self.console.services).snapshot():
            # The roster entry is read with the request (one statement on SQLite).
            p = staff(self.console, req, roster=False)
            show(self.console, req, resp, p, request_id, notice=NOTICES.get(
                req.get_param("aviso") or ""))


def show(console: Console, req: falcon.Request, resp: falcon.Response, p: Principal,
         request_id: str, *, form: Form | None = None, status: int = 200,
         notice: str | None = None, template: str = "request_detail.html",
         title: str | None = None, **extra: Any) -> None:
    svc = attendance(console, req)
    try:
        r, timeline = svc.request(p, request_id)
    except AttendantNotEnabled as exc:
        raise NotReleased("this attendant's profile is not enabled") from exc
    data: dict[str, Any] = {
        "r": r, "status_names": STATUS, "events": EVENTS, "verdicts": VERDICT, "notice": notice,
        "form": form or Form(labels=dict(LABELS)), "me": p.sub,
        "timeline": timeline,
        "is_analyst": r["status"] == "in_analysis" and (r.get("analyst") or {}).get("sub")
        == p.sub,
        "is_assignee": r["status"] == "in_service" and (r.get("assignee") or {}).get("sub")
        == p.sub,
        "attendants": [], "followups": [], "meetings": [],
    }
    if data["is_analyst"]:
        data["attendants"] = [(a["sub"], a["name"]) for a in svc.attendants(p, r["unit"])
                              if a["sub"] != r["citizen"].get("sub")]
    if r["status"] in ("in_service", "concluded"):
        data["followups"] = service_work.history(svc, p, request_id)
        data["meetings"] = service_work.meeting_list(svc, p, request_id)
    data.update(extra)
    # Kept by what it shows when nothing was typed on it: the page people open again.
    console.render(req, resp, template, title=title or f"Solicitação de {r['service_name']}",
                   status=status, keep=form is None and status == 200, **data)


class StartAnalysis:
    def __init__(self, console: Console) -> None:
        self.console = console

    def on_post(self, req: falcon.Request, resp: falcon.Response, request_id: str) -> None:
        p = staff(self.console, req)
        try:
            attendance(self.console).start_analysis(p, request_id)
        except DomainError as exc:
            if isinstance(exc, NotFound):
                raise
            form = Form(labels=dict(LABELS))
            form.take(exc)
            return show(self.console, req, resp, p, request_id, form=form, status=exc.status)
        raise falcon.HTTPSeeOther(request_url(request_id, "?aviso=analise"))


class StepCheck:
    def __init__(self, console: Console) -> None:
        self.console = console

    def on_post(self, req: falcon.Request, resp: falcon.Response, request_id: str,
                key: str) -> None:
        p = staff(self.console, req)
        note_field = f"observacao-{key}"
        form = Form.posted(req, labels={note_field: "Observação", **LABELS})
        status = 422
        ok = form.value("verificacao") == "sim"
        if not ok and not form.value(note_field).strip():
            form.add(note_field, "Informe a observação para responder Não.")
        if form.ok:
            _, status = attempt(form, lambda: attendance(self.console).check_step(
                p, request_id, key, ok, form.value(note_field)), {"note": note_field})
        if not form.ok:
            return show(self.console, req, resp, p, request_id, form=form, status=status)
        raise falcon.HTTPSeeOther(request_url(request_id, f"?aviso=etapa#etapa-{key}"))


class _Decision(ABC):
    """The approval's or the rejection's dialog as a page of its own, for a browser without
    JavaScript, and where its errors are shown. A subclass names the dialog's form, its
    one field (and the service's name for it) and the command it runs."""

    dialog = title = field = api_field = notice = ""

    def __init__(self, console: Console) -> None:
        self.console = console

    @abstractmethod
    def decide(self, p: Principal, request_id: str, value: str) -> None:
        """Run the command the dialog stands for."""

    def on_get(self, req: falcon.Request, resp: falcon.Response, request_id: str) -> None:
        p = staff(self.console, req)
        self.page(req, resp, p, request_id, Form(labels=dict(LABELS)))

    def page(self, req: falcon.Request, resp: falcon.Response, p: Principal,
             request_id: str, form: Form, status: int = 200) -> None:
        show(self.console, req, resp, p, request_id, form=form, status=status,
             template="request_decision.html", title=self.title, decision_form=self.dialog)

    def on_post(self, req: falcon.Request, resp: falcon.Response, request_id: str) -> None:
        p = staff(self.console, req)
        form = Form.posted(req, labels=dict(LABELS))
        status = 422
        form.require(self.field)
        if form.ok:
            _, status = attempt(form, lambda: self.decide(p, request_id, form.value(self.field)),
                                {self.api_field: self.field}, default=self.field)
        if not form.ok:
            return self.page(req, resp, p, request_id, form, status)
        raise falcon.HTTPSeeOther(request_url(request_id, f"?aviso={self.notice}"))


class Approve(_Decision):
    dialog, title = "_request_approve_form.html", "Aprovar solicitação"
    field, api_field, notice = "atendente", "assignee", "aprovada"

    def decide(self, p: Principal, request_id: str, value: str) -> None:
        attendance(self.console).approve(p, request_id, value)


class Reject(_Decision):
    dialog, title = "_request_reject_form.html", "Reprovar solicitação"
    field, api_field, notice = "justificativa", "justification", "reprovada"

    def decide(self, p: Principal, request_id: str, value: str) -> None:
        attendance(self.console).reject(p, request_id, value)


class Download:
    """A document (or the conclusion's file), streamed through the console: the browser
    holds no token to fetch it from the API."""

    def __init__(self, console: Console) -> None:
        self.console = console

    def on_get(self, req: falcon.Request, resp: falcon.Response, request_id: str,
               doc_id: str) -> None:
        p = staff(self.console, req)
        data, ctype, name = attendance(self.console).document(p, request_id, doc_id)
        send_file(resp, data, ctype, name)


def register(console: Console) -> None:
    install_filters(console)
    console.screen("/solicitacoes/{request_id}", Detail(console))
    console.screen("/solicitacoes/{request_id}/analise", StartAnalysis(console))
    console.screen("/solicitacoes/{request_id}/etapas/{key}", StepCheck(console))
    console.screen("/solicitacoes/{request_id}/aprovar", Approve(console))
    console.screen("/solicitacoes/{request_id}/reprovar", Reject(console))
    console.screen("/solicitacoes/{request_id}/documentos/{doc_id}", Download(console))
    service_work.register(console)
