"""The citizen's screens: a service's page and its form (**Solicitar**), and **Minhas
solicitações** with everything a request holds for them (documents, follow-ups, meetings,
the conclusion and its file, the review)."""

from __future__ import annotations

from typing import Any

import falcon

from console.forms import Form, posted_files
from console.screens.files import send_bytes
from console.web import Console, Page
from shared.errors import DomainError, NotFound
from shared.identity import Principal

CITIZEN = frozenset({"citizen"})
STATUS = {"submitted": "Enviada", "in_analysis": "Em análise", "rejected": "Reprovada",
          "in_service": "Em atendimento", "concluded": "Concluída"}
EVENTS = {"RequestSubmitted": "Solicitação enviada", "DocumentAdded": "Documento enviado",
          "AnalysisStarted": "Análise iniciada", "StepChecked": "Etapa conferida",
          "RequestRejected": "Solicitação reprovada",
          "RequestApproved": "Solicitação aprovada",
          "RequestReassigned": "Atendimento transferido",
          "RequestConcluded": "Atendimento concluído",
          "CitizenVerdict": "Avaliação do cidadão registrada",
          "FollowupPosted": "Acompanhamento", "MeetingScheduled": "Videoconferência agendada",
          "MeetingRescheduled": "Videoconferência remarcada",
          "MeetingCanceled": "Videoconferência cancelada",
          "GuestInvited": "Convidado para a videoconferência",
          "MeetingJoined": "Entrada na videoconferência"}
# Inputs by field type: (HTML type, inputmode, autocomplete).
CONTROLS = {"text": ("text", None, None), "number": ("text", "decimal", None),
            "date": ("date", None, None), "email": ("email", "email", "email"),
            "cpf": ("text", "numeric", "off"), "phone": ("tel", "tel", "tel")}
RADIOS_UP_TO = 4  # more options than this: a select


def answer_name(key: str) -> str:
    return f"resposta-{key}"


def base(request_id: str) -> str:
    return f"/console/minhas-solicitacoes/{request_id}"


class ServicePage(Page):
    """A service of the catalog, its published reviews and ratings, and **Solicitar**."""

    template = "citizen_service.html"

    def view(self, req: falcon.Request, p: Principal | None, **params: Any) -> dict[str, Any]:
        service = self.console.services.service(params["service_id"])
        reviews = self.console.services.published_reviews(service["id"])
        return {"title": service["name"], "service": service, "reviews": reviews}


class Apply(Page):
    """**Solicitar**: the service's form, as the service defines it."""

    template = "citizen_apply.html"
    title = "Solicitar"
    roles = CITIZEN

    def view(self, req: falcon.Request, p: Principal | None, **params: Any) -> dict[str, Any]:
        service = self.console.services.service(params["service_id"])
        return {"service": service, "form": Form(labels=labels_of(service)),
                "controls": CONTROLS, "radios_up_to": RADIOS_UP_TO}

    def on_post(self, req: falcon.Request, resp: falcon.Response, service_id: str) -> None:
        p = self.console.person(req, self.roles)
        assert p is not None
        service = self.console.services.service(service_id)
        form = Form.posted(req, labels=labels_of(service))
        answers = {f["key"]: form.value(answer_name(f["key"])) for f in service["form"]}
        try:
            made = self.console.services.submit(p, service_id, answers)
        except DomainError as exc:
            form.take(exc, {f"answers.{f['key']}": answer_name(f["key"])
                            for f in service["form"]})
            self.console.render(req, resp, self.template, title=self.title, status=422,
                                service=service, form=form, controls=CONTROLS,
                                radios_up_to=RADIOS_UP_TO)
            return
        raise falcon.HTTPSeeOther(base(made["id"]) + "?enviada=1")


def labels_of(service: dict[str, Any]) -> dict[str, str]:
    return {answer_name(f["key"]): f["label"] for f in service["form"]}


class Mine(Page):
    template = "citizen_requests.html"
    title = "Minhas solicitações"
    roles = CITIZEN

    def view(self, req: falcon.Request, p: Principal | None, **params: Any) -> dict[str, Any]:
        assert p is not None
        return {"requests": self.console.services.my_requests(p), "status_names": STATUS}


class Detail(Page):
    """One of the citizen's requests; each of its forms posts to an address of its own
    and, refused, comes back here with its errors (``forms``) and what was typed."""

    template = "citizen_request.html"
    title = "Solicitação"
    roles = CITIZEN

    def view(self, req: falcon.Request, p: Principal | None, **params: Any) -> dict[str, Any]:
        assert p is not None
        return self.data(p, params["request_id"], {}, notice=notice(req))

    def data(self, p: Principal, request_id: str, forms: dict[str, Form],
             notice: str | None = None) -> dict[str, Any]:
        s = self.console.services
        request, timeline = s.request_and_timeline(p, request_id)
        try:
            service: dict[str, Any] | None = s.service(request["service_id"])
        except NotFound:
            service = None  # deactivated since: the request still shows, by its own form
        sent = {d["key"] for d in request["documents"]}
        empty = {"reply": Form(labels={"mensagem": "Mensagem", "anexos": "Anexos"}),
                 "review": Form(labels=REVIEW_LABELS), "join": Form(), "doc": Form(),
                 "blank": Form()}
        return {
            "title": f"Solicitação: {request['service_name']}", "request": request,
            "service": service, "status_names": STATUS, "events": EVENTS,
            "timeline": timeline,
            "followups": s.followups(p, request_id),
            "meetings": s.meetings(p, request_id),
            "documents": [d for d in (service or {}).get("documents", [])],
            "sent_keys": sent, "forms": {**empty, **forms}, "notice": notice,
            "me": p.display_name, "join_for": forms.get("join_for"),
        }

    def again(self, req: falcon.Request, resp: falcon.Response, p: Principal,
              request_id: str, status: int, **forms: Any) -> None:
        data = self.data(p, request_id, forms)
        self.console.render(req, resp, self.template, status=status, **data)


NOTICES = {"enviada": "Solicitação enviada.", "documento": "Documento enviado.",
           "resposta": "Resposta enviada.", "avaliacao": "Avaliação enviada. Obrigado!"}
REVIEW_LABELS = {"veredito": "Avaliar atendimento", "nota": "Nota",
                 "comentario": "Comentário"}


def notice(req: falcon.Request) -> str | None:
    return next((text for key, text in NOTICES.items() if req.get_param(key)), None)


class Action:
    """A post from the request's page: runs one command, then back to the page."""

    def __init__(self, console: Console, detail: Detail) -> None:
        self.console, self.detail = console, detail

    def person(self, req: falcon.Request) -> Principal:
        p = self.console.person(req, CITIZEN)
        assert p is not None
        return p


class SendDocument(Action):
    def on_post(self, req: falcon.Request, resp: falcon.Response, request_id: str,
                key: str) -> None:
        p = self.person(req)
        files = posted_files(req)
        form = Form.posted(req, labels={f"documento-{key}": "Documento"})
        try:
            if not files:
                form.add(f"documento-{key}", "Escolha um arquivo.")
            else:
                self.console.services.add_document(p, request_id, key, files[0])
        except DomainError as exc:
            form.take(exc, default=f"documento-{key}")
        if not form.ok:
            self.detail.again(req, resp, p, request_id, 422, doc=form)
            return
        raise falcon.HTTPSeeOther(base(request_id) + "?documento=1#documentos")


class Reply(Action):
    def on_post(self, req: falcon.Request, resp: falcon.Response, request_id: str) -> None:
        p = self.person(req)
        form = Form.posted(req, labels={"mensagem": "Mensagem", "anexos": "Anexos"})
        files = posted_files(req)
        form.require("mensagem")
        if form.ok:
            try:
                self.console.services.post_followup(p, request_id, form.value("mensagem"),
                                                    files)
            except DomainError as exc:
                form.take(exc, {"body": "mensagem", "file": "anexos", "files": "anexos"},
                          default="anexos" if files else "mensagem")
        if not form.ok:
            self.detail.again(req, resp, p, request_id, 422, reply=form)
            return
        raise falcon.HTTPSeeOther(base(request_id) + "?resposta=1#acompanhamentos")


class Join(Action):
    """**Acessar**: the room's link, made by the meetings service for this person now;
    outside the join window, the reason by the field."""

    def on_post(self, req: falcon.Request, resp: falcon.Response, request_id: str,
                meeting_id: str) -> None:
        p = self.person(req)
        form = Form.posted(req, labels={"nome": "Seu nome"})
        form.require("nome")
        refused = None
        if form.ok:
            try:
                link = self.console.services.join(p, request_id, meeting_id,
                                                  form.value("nome"))
            except DomainError as exc:
                refused = meeting_refusal(exc)
                if refused:
                    form.errors["nome"] = refused
                else:
                    form.take(exc, {"display_name": "nome"}, default="nome")
            else:
                room(self.console, req, resp, link, back=base(request_id))
                return
        self.detail.again(req, resp, p, request_id, 409 if refused else 422,
                          join=form, join_for=meeting_id)


def room(console: Console, req: falcon.Request, resp: falcon.Response,
         link: dict[str, Any], back: str | None = None) -> None:
    """The meeting's room, in the page (the policy frames the Jitsi origin only) and as a
    link to open it apart. A form post cannot redirect there: form-action is 'self'."""
    console.render(req, resp, "citizen_room.html", title="Videoconferência",
                   url=link["url"], expires_at=link["expires_at"], back=back)


def meeting_refusal(exc: DomainError) -> str | None:
    """A meeting's refusal in words, or None when it is about the name typed."""
    code = getattr(exc, "code", "")
    detail = (exc.detail or "").lower()
    if code == "outside_join_window":
        return ("A sala abre 15 minutos antes do início e fecha ao fim da reunião. "
                "Volte no horário marcado.")
    if "cancel" in detail:
        return "Esta reunião foi cancelada."
    if "ended" in detail:
        return "Esta reunião já terminou."
    return None


class Review(Action):
    def on_post(self, req: falcon.Request, resp: falcon.Response, request_id: str) -> None:
        p = self.person(req)
        form = Form.posted(req, labels=REVIEW_LABELS)
        form.require("veredito")
        rating = form.value("nota").strip()
        if rating and not (rating.isascii() and rating.isdigit()):
            form.add("nota", "Escolha uma nota de 1 a 5.")
        if form.ok:
            body: dict[str, Any] = {"verdict": form.value("veredito")}
            if rating:
                body["rating"] = int(rating)
            if form.value("comentario").strip():
                body["comment"] = form.value("comentario")
            try:
                self.console.services.review(p, request_id, body)
            except DomainError as exc:
                form.take(exc, {"verdict": "veredito", "rating": "nota",
                                "comment": "comentario"}, default="veredito")
        if not form.ok:
            self.detail.again(req, resp, p, request_id, 422, review=form)
            return
        raise falcon.HTTPSeeOther(base(request_id) + "?avaliacao=1")


class Document(Action):
    """A file of the request (the conclusion's PDF too), streamed through the console:
    the browser never holds a token for the services."""

    def on_get(self, req: falcon.Request, resp: falcon.Response, request_id: str,
               doc_id: str) -> None:
        data, ctype, name = self.console.services.document(self.person(req), request_id,
                                                           doc_id)
        send_bytes(resp, data, ctype, name)


class Attachment(Action):
    def on_get(self, req: falcon.Request, resp: falcon.Response, request_id: str,
               followup_id: str, attachment_id: str) -> None:
        data, ctype, name = self.console.services.attachment(
            self.person(req), request_id, followup_id, attachment_id)
        send_bytes(resp, data, ctype, name)


def register(console: Console) -> None:
    console.screen("/servicos/{service_id}", ServicePage(console))
    console.screen("/servicos/{service_id}/solicitar", Apply(console))
    console.screen("/minhas-solicitacoes", Mine(console), menu="Minhas solicitações",
                   roles=("citizen",))
    detail = Detail(console)
    mine = "/minhas-solicitacoes/{request_id}"
    console.screen(mine, detail)
    console.screen(mine + "/documentos/{key}", SendDocument(console, detail))
    console.screen(mine + "/acompanhamentos", Reply(console, detail))
    console.screen(mine + "/reunioes/{meeting_id}/acessar", Join(console, detail))
    console.screen(mine + "/avaliacao", Review(console, detail))
    console.screen(mine + "/arquivos/{doc_id}", Document(console, detail))
    console.screen(mine + "/acompanhamentos/{followup_id}/anexos/{attachment_id}",
                   Attachment(console, detail))
