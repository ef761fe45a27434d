"""The registrar's screens (the form builder, Desativar, the roster) and the guest's door,
in process."""

from __future__ import annotations

import re

from infra.bootstrap import Platform
from infra.demo import PEOPLE
from infra.gateway import gateway_for
from tests.console.conftest import Browser
from tests.console.people import Api, settle

NEW = "/console/cadastro/servicos/novo"


def builder_form(token: str, **extra: str) -> dict[str, str]:
    form = {"csrf": token, "n-campos": "3", "n-etapas": "3", "n-documentos": "2",
            "nome": "Alvará de feira", "unidade": "atendimento", "prazo": "15",
            "campo-0-rotulo": "CPF do feirante", "campo-0-tipo": "cpf",
            "campo-0-obrigatorio": "1",
            "campo-1-rotulo": "Data de início", "campo-1-tipo": "date",
            "campo-2-rotulo": "Turno", "campo-2-tipo": "choice",
            "campo-2-opcoes": "manhã\ntarde", "campo-2-obrigatorio": "1",
            "etapa-0-rotulo": "Documentos conferidos",
            "documento-0-rotulo": "Comprovante de endereço", "documento-0-obrigatorio": "1",
            "acao": "publicar"}
    return {**form, **extra}


def test_a_registrar_builds_publishes_edits_and_deactivates_a_service(
        platform: Platform, browser: Browser) -> None:
    browser.login_demo("registrar")
    listed = browser.get("/console/cadastro/servicos").text
    assert "Certidão de regularidade" in listed and ">Novo serviço</a>" in listed
    token = browser.csrf(NEW)
    grown = browser.post(NEW, builder_form(token, acao="campo"))
    assert grown.status_code == 200 and 'name="n-campos" value="4"' in grown.text
    assert 'id="campo-campo-3-rotulo"' in grown.text and 'value="CPF do feirante"' in grown.text
    bad = browser.post(NEW, builder_form(token, **{"campo-2-opcoes": "", "prazo": "x"}))
    assert bad.status_code == 422
    assert 'id="erro-prazo"' in bad.text and 'value="Alvará de feira"' in bad.text
    bad = browser.post(NEW, builder_form(token, **{"campo-2-opcoes": ""}))
    assert bad.status_code == 422 and 'id="erro-campo-2-opcoes"' in bad.text
    made = browser.post(NEW, builder_form(token))
    assert made.status_code == 303 and made.headers["Location"].endswith("?ok=novo")
    service = next(s for s in Api(platform).client.simulate_get("/catalog/services")
                   .json["items"] if s["name"] == "Alvará de feira")
    assert [(f["key"], f["type"], f["required"]) for f in service["form"]] == [
        ("cpf_do_feirante", "cpf", True), ("data_de_inicio", "date", False),
        ("turno", "choice", True)]
    assert service["form"][2]["options"] == ["manhã", "tarde"]
    assert service["documents"] == [{"key": "comprovante_de_endereco",
                                     "label": "Comprovante de endereço", "required": True}]
    assert service["deadline_days"] == 15
    edit = f"/console/cadastro/servicos/{service['id']}"
    page = browser.get(edit).text
    assert 'value="cpf_do_feirante"' in page and "Salvar alterações" in page
    r = browser.post(edit, builder_form(token, nome="Alvará de feira livre"))
    assert r.status_code == 303
    again = Api(platform).client.simulate_get(f"/catalog/services/{service['id']}").json
    assert again["name"] == "Alvará de feira livre"
    assert [f["key"] for f in again["form"]] == ["cpf_do_feirante", "data_de_inicio", "turno"]
    r = browser.post(f"{edit}/desativar", {"csrf": token})
    assert r.status_code == 303
    assert Api(platform).client.simulate_get(
        f"/catalog/services/{service['id']}").status_code == 404
    assert "Serviço desativado." in browser.get(r.headers["Location"]).text


def test_a_registrar_of_another_institution_cannot_edit(platform: Platform) -> None:
    sid = Api(platform).service_id()
    other = dict(PEOPLE["registrar"], sub="reg-9", org="outra-prefeitura")
    browser = Browser(gateway_for(platform))
    from tests.console.people import token as mint

    token = browser.csrf("/console/entrar")
    r = browser.post("/console/entrar", {"csrf": token, "token": mint(platform, other)})
    assert r.status_code == 303
    assert browser.get(f"/console/cadastro/servicos/{sid}").status_code == 404
    csrf = browser.csrf("/console/cadastro/servicos")
    r = browser.post(f"/console/cadastro/servicos/{sid}", builder_form(csrf))
    assert r.status_code == 404
    r = browser.post(f"/console/cadastro/servicos/{sid}/desativar", {"csrf": csrf})
    assert r.status_code == 403
    assert Api(platform).client.simulate_get(f"/catalog/services/{sid}").status_code == 200
    # Nor a citizen, nor an attendant.
    citizen = Browser(gateway_for(platform))
    citizen.login_demo("citizen")
    assert citizen.get("/console/cadastro/servicos").status_code == 403


def test_the_roster_enrols_releases_and_blocks(platform: Platform, browser: Browser) -> None:
    browser.login_demo("registrar")
    page = browser.get("/console/cadastro/atendentes").text
    assert "Ana Atendente" in page and "Cadastrar atendente" in page
    token = browser.csrf("/console/cadastro/atendentes")
    r = browser.post("/console/cadastro/atendentes", {
        "csrf": token, "identificador": "att-7", "nome": "", "email": "nao-e-email",
        "unidade": "atendimento"})
    assert r.status_code == 422 and 'id="erro-nome"' in r.text
    assert 'value="nao-e-email"' in r.text and 'value="att-7"' in r.text
    r = browser.post("/console/cadastro/atendentes", {
        "csrf": token, "identificador": "att-7", "nome": "Célia Nova", "email": "",
        "unidade": "atendimento"})
    assert r.status_code == 303
    r = browser.post("/console/cadastro/atendentes/att-7/liberacao",
                     {"csrf": token, "liberar": "0"})
    assert r.status_code == 303
    page = browser.get(r.headers["Location"]).text
    row = re.search(r"<td>Célia Nova</td>.*?</tr>", page, re.S)
    assert row and "Bloqueado" in row.group(0) and "Liberar" in row.group(0)
    browser.post("/console/cadastro/atendentes/att-7/liberacao",
                 {"csrf": token, "liberar": "1"})
    page = browser.get("/console/cadastro/atendentes").text
    row = re.search(r"<td>Célia Nova</td>.*?</tr>", page, re.S)
    assert row and "Liberado" in row.group(0) and "Bloquear" in row.group(0)


def test_the_guest_joins_inside_the_window_and_is_told_outside_it(
        platform: Platform) -> None:
    api = Api(platform)
    rid = api.submit(api.service_id())
    api.into_service(rid)
    settle(platform, lambda: api.client.simulate_get(
        f"/requests/{rid}/meetings", headers={"Authorization": "Bearer " + _t(api)}
    ).status_code == 200)
    soon = api.meeting(rid, in_minutes=10)
    later = api.meeting(rid, in_minutes=120)
    guest = Browser(gateway_for(platform))
    door = f"/console/convite?codigo={api.invite(rid, soon)}"
    page = guest.get(door)
    assert page.status_code == 200 and "Seu nome" in page.text
    assert ">Entrar na reunião</button>" in page.text
    assert 'name="linked" value="1"' in page.text  # the code came with the link
    csrf = guest.csrf(door)
    code = door.split("=", 1)[1]
    r = guest.post("/console/convite", {"csrf": csrf, "codigo": code, "linked": "1",
                                        "nome": ""})
    assert r.status_code == 422 and 'id="erro-nome"' in r.text
    r = guest.post("/console/convite", {"csrf": csrf, "codigo": code, "nome": "Gil"})
    assert r.status_code == 200 and 'src="https://meet.jit.si/' in r.text
    # Typed by hand, a wrong code is refused by its field, the name kept.
    r = guest.post("/console/convite", {"csrf": csrf, "codigo": "errado", "nome": "Gil"})
    assert r.status_code == 422 and 'id="erro-codigo">Convite não encontrado' in r.text
    assert 'value="Gil"' in r.text
    shut = guest.get(f"/console/convite?codigo={api.invite(rid, later)}")
    assert shut.status_code == 409 and "A sala abre 15 minutos antes" in shut.text
    assert "Entrar na reunião</button>" not in shut.text
    api.call("POST", f"/requests/{rid}/meetings/{soon}/cancellation", "attendant",
             json={"reason": "Imprevisto"})
    cancelled = guest.get(door)
    assert cancelled.status_code == 409 and "Esta reunião foi cancelada." in cancelled.text
    assert guest.get("/console/convite?codigo=nao-existe").status_code == 404
    assert "Código do convite" in guest.get("/console/convite").text

def _t(api: Api) -> str:
    from tests.console.people import token

    return token(api.platform, "attendant")
