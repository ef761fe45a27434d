"""The registrar's screens: the institution's **Serviços** (**Novo serviço**, edit,
**Desativar**) and **Atendentes** (**Cadastrar atendente**, **Liberar** / **Bloquear**)."""

from __future__ import annotations

from typing import Any

import falcon

from console.forms import Form
from console.screens.builder import Builder
from console.web import PREFIX, Console, Page
from shared.errors import DomainError
from shared.identity import Principal

REGISTRAR = frozenset({"registrar"})
HOME = PREFIX + "/cadastro/servicos"


class OrgServices(Page):
    template = "registrar_services.html"
    title = "Serviços"
    roles = REGISTRAR

    def view(self, req: falcon.Request, p: Principal | None, **params: Any) -> dict[str, Any]:
        assert p is not None
        return {"services": self.console.services.org_services(p),
                "notice": {"novo": "Serviço publicado.", "salvo": "Serviço alterado.",
                           "desativado": "Serviço desativado."}.get(req.get_param("ok") or "")}


class Edit(Page):
    """**Novo serviço**, or an existing one: the builder's form, posted whole. Its
    "Adicionar …" buttons post it back with one more empty row, without JavaScript."""

    template = "registrar_service.html"
    roles = REGISTRAR

    def view(self, req: falcon.Request, p: Principal | None, **params: Any) -> dict[str, Any]:
        assert p is not None
        service_id = params.get("service_id")
        if service_id:
            builder = Builder.of(self.console.services.org_service(p, service_id))
        else:
            builder = Builder.empty(p.unit or "")
        return self.data(service_id, builder, builder.form())

    def data(self, service_id: str | None, builder: Builder, form: Form) -> dict[str, Any]:
        return {"title": "Editar serviço" if service_id else "Novo serviço",
                "service_id": service_id, "b": builder, "form": form,
                "types": Builder.TYPES}

    def on_post(self, req: falcon.Request, resp: falcon.Response,
                service_id: str | None = None) -> None:
        p = self.console.person(req, self.roles)
        assert p is not None
        if service_id:
            self.console.services.org_service(p, service_id)  # 404 unless theirs
        form = Form.posted(req)
        builder = Builder.posted(form)
        form.labels = builder.labels()
        adding = form.value("acao")
        if adding in Builder.GROWS:
            builder.grow(adding)
            self.console.render(req, resp, self.template, focus=adding,
                                **self.data(service_id, builder, form))
            return
        body = builder.body(form)
        if form.ok:
            try:
                if service_id:
                    self.console.services.patch_service(p, service_id, body)
                else:
                    self.console.services.create_service(p, body)
            except DomainError as exc:
                form.take(exc, builder.api_fields(), default="nome")
        if not form.ok:
            self.console.render(req, resp, self.template, status=422,
                                **self.data(service_id, builder, form))
            return
        raise falcon.HTTPSeeOther(HOME + ("?ok=salvo" if service_id else "?ok=novo"))


class Deactivate:
    def __init__(self, console: Console) -> None:
        self.console = console

    def on_post(self, req: falcon.Request, resp: falcon.Response, service_id: str) -> None:
        p = self.console.person(req, REGISTRAR)
        assert p is not None
        self.console.services.patch_service(p, service_id, {"active": False})
        raise falcon.HTTPSeeOther(HOME + "?ok=desativado")


ROSTER_LABELS = {"identificador": "Identificador", "nome": "Nome", "email": "E-mail",
                 "unidade": "Unidade"}


class Attendants(Page):
    template = "registrar_attendants.html"
    title = "Atendentes"
    roles = REGISTRAR

    def view(self, req: falcon.Request, p: Principal | None, **params: Any) -> dict[str, Any]:
        assert p is not None
        return self.data(p, Form(values={"unidade": p.unit or ""}, labels=ROSTER_LABELS),
                         req.get_param("ok"))

    def data(self, p: Principal, form: Form, notice: str | None = None) -> dict[str, Any]:
        words = {"cadastrado": "Atendente cadastrado.", "liberado": "Atendente liberado.",
                 "bloqueado": "Atendente bloqueado."}
        return {"attendants": self.console.services.attendants(p), "form": form,
                "notice": words.get(notice or "")}

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        p = self.console.person(req, self.roles)
        assert p is not None
        form = Form.posted(req, labels=ROSTER_LABELS)
        form.require("identificador", "nome", "unidade")
        if form.ok:
            body = {"name": form.value("nome").strip(), "unit": form.value("unidade").strip(),
                    "email": form.value("email").strip() or None, "enabled": True}
            try:
                self.console.services.enrol(p, form.value("identificador").strip(), body)
            except DomainError as exc:
                form.take(exc, {"name": "nome", "unit": "unidade", "email": "email",
                                "sub": "identificador"}, default="identificador")
        if not form.ok:
            self.console.render(req, resp, self.template, title=self.title, status=422,
                                **self.data(p, form))
            return
        raise falcon.HTTPSeeOther(PREFIX + "/cadastro/atendentes?ok=cadastrado")


class Release:
    """**Liberar** / **Bloquear**: the roster entry again, enabled or not."""

    def __init__(self, console: Console) -> None:
        self.console = console

    def on_post(self, req: falcon.Request, resp: falcon.Response, sub: str) -> None:
        p = self.console.person(req, REGISTRAR)
        assert p is not None
        enabled = Form.posted(req).value("liberar") == "1"
        entry = next((a for a in self.console.services.attendants(p) if a["sub"] == sub),
                     None)
        if entry is None:
            raise falcon.HTTPNotFound()
        self.console.services.enrol(p, sub, {"name": entry["name"], "unit": entry["unit"],
                                             "email": entry.get("email"), "enabled": enabled})
        raise falcon.HTTPSeeOther(PREFIX + "/cadastro/atendentes?ok="
                                  + ("liberado" if enabled else "bloqueado"))


def register(console: Console) -> None:
    console.screen("/cadastro/servicos", OrgServices(console), menu="Serviços",
                   roles=("registrar",))
    edit = Edit(console)
    console.screen("/cadastro/servicos/novo", edit)
    console.screen("/cadastro/servicos/{service_id}", edit)
    console.screen("/cadastro/servicos/{service_id}/desativar", Deactivate(console))
    console.screen("/cadastro/atendentes", Attendants(console), menu="Atendentes",
                   roles=("registrar",))
    console.screen("/cadastro/atendentes/{sub}/liberacao", Release(console))
