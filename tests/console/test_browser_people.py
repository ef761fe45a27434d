# ruff: noqa: F811  (the browser fixtures, imported, are parameters by their names)
"""The citizen's, registrar's and guest's screens in a real browser (Debian's Chromium,
Playwright) on a real server: keyboard and accessible names only, axe-core at WCAG 2.2 AA
on every screen, at 1280 px and at 320 px wide. The staff's steps go through the API."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Browser as Chromium
from playwright.sync_api import Locator, Page, expect

from infra.bootstrap import Platform
from infra.demo import PEOPLE
from tests.console.people import BAD_CPF, GOOD_CPF, PDF, Api, settle, token
from tests.console.test_browser import accessible, chromium, page, server, snapshot  # noqa: F401

pytestmark = pytest.mark.slow



def press(target: Locator, key: str = "Enter") -> None:
    """Focus a control and press a key on it, as a keyboard user does."""
    target.focus()
    target.press(key)


def login(page: Page, server: str, who: str) -> None:
    page.goto(server + "/console/entrar")
    press(page.get_by_role("button", name=f"Entrar como {PEOPLE[who]['name']}"))


def logout(page: Page) -> None:
    press(page.get_by_role("button", name="Sair"))
    expect(page.get_by_role("link", name="Entrar")).to_be_visible()


def narrow(page: Page) -> None:
    """At 320 px: no sideways scroll, and axe still clean."""
    page.set_viewport_size({"width": 320, "height": 640})
    assert page.evaluate("document.documentElement.scrollWidth") <= 320
    accessible(page)
    page.set_viewport_size({"width": 1280, "height": 800})


def jitsi(page: Page) -> None:
    """The room itself is Jitsi's: answered here, the test never leaves the machine."""
    page.route("https://meet.jit.si/**", lambda route: route.fulfill(
        status=200, content_type="text/html",
        body="<!DOCTYPE html><html lang='pt-BR'><title>Sala</title><h1>Sala</h1></html>"))


def publish(page: Page, server: str) -> None:
    login(page, server, "registrar")
    nav = page.get_by_role("navigation", name="Menu principal")
    press(nav.get_by_role("link", name="Serviços"))
    expect(page.get_by_role("heading", level=1, name="Serviços")).to_be_visible()
    accessible(page)
    press(page.get_by_role("link", name="Novo serviço"))
    expect(page.get_by_role("heading", level=1, name="Novo serviço")).to_be_visible()
    page.get_by_label("Nome do serviço").fill("Alvará de feira")
    page.get_by_label("Unidade").fill("atendimento")
    page.get_by_label("Prazo (dias)").fill("15")
    rows = [("CPF do feirante", "cpf"), ("Data de início", "date"), ("Turno", "choice")]
    for i, (label, kind) in enumerate(rows, start=1):
        page.get_by_label(f"Rótulo do campo {i}", exact=True).fill(label)
        page.get_by_label(f"Tipo do campo {i}", exact=True).select_option(kind)
    press(page.get_by_label("Campo 1 obrigatório"), " ")
    press(page.get_by_label("Campo 3 obrigatório"), " ")
    page.get_by_label("Opções do campo 3").fill("manhã\ntarde")
    page.get_by_label("Etapa 1", exact=True).fill("Documentos conferidos")
    page.get_by_label("Documento 1", exact=True).fill("Comprovante de residência")
    press(page.get_by_label("Documento 1 obrigatório"), " ")
    accessible(page)
    narrow(page)
    press(page.get_by_role("button", name="Publicar serviço"))
    expect(page.get_by_role("status")).to_have_text("Serviço publicado.")
    expect(page.get_by_role("cell", name="Alvará de feira", exact=True)).to_be_visible()


def release_two(page: Page) -> None:
    nav = page.get_by_role("navigation", name="Menu principal")
    press(nav.get_by_role("link", name="Atendentes"))
    page.get_by_label("Identificador").fill("att-5")
    page.get_by_label("Nome", exact=True).fill("Célia Nova")
    page.get_by_label("Unidade").fill("atendimento")
    press(page.get_by_role("button", name="Cadastrar atendente"))
    expect(page.get_by_role("status")).to_have_text("Atendente cadastrado.")
    accessible(page)
    for name in ("Célia Nova", PEOPLE["attendant2"]["name"]):
        press(page.get_by_role("button", name=f"Bloquear {name}"))
        expect(page.get_by_role("status")).to_have_text("Atendente bloqueado.")
    for name in ("Célia Nova", PEOPLE["attendant2"]["name"]):
        press(page.get_by_role("button", name=f"Liberar {name}"))
        expect(page.get_by_role("status")).to_have_text("Atendente liberado.")
    expect(page.get_by_role("cell", name="Bloqueado", exact=True)).to_have_count(0)
    logout(page)


def apply(page: Page, server: str) -> str:
    login(page, server, "citizen")
    nav = page.get_by_role("navigation", name="Menu principal")
    press(nav.get_by_role("link", name="Serviços"))
    press(page.get_by_role("link", name="Alvará de feira"))
    expect(page.get_by_role("heading", level=1, name="Alvará de feira")).to_be_visible()
    expect(page.get_by_text("Este serviço ainda não foi avaliado.")).to_be_visible()
    accessible(page)
    press(page.get_by_role("link", name="Solicitar"))
    expect(page.get_by_role("heading", level=1, name="Solicitar")).to_be_visible()
    cpf = page.get_by_label("CPF do feirante")
    cpf.focus()
    page.keyboard.type(BAD_CPF.replace(".", "").replace("-", ""))
    expect(cpf).to_have_value(BAD_CPF)  # the mask
    page.get_by_label("Data de início").fill("2027-01-15")
    press(page.get_by_role("radio", name="tarde"), " ")
    form_url = page.url
    press(page.get_by_role("button", name="Enviar solicitação"))
    expect(page.get_by_text("CPF inválido: confira os números.")).to_be_visible()
    expect(cpf).to_be_focused()
    expect(cpf).to_have_attribute("aria-invalid", "true")
    assert page.url == form_url  # refused by the field, nothing sent
    accessible(page)
    cpf.fill("")
    page.keyboard.type(GOOD_CPF.replace(".", "").replace("-", ""))
    expect(page.get_by_text("CPF inválido: confira os números.")).to_have_count(0)
    expect(cpf).not_to_have_attribute("aria-invalid", "true")
    snapshot(page, "console-citizen-form.png")
    press(page.get_by_role("button", name="Enviar solicitação"))
    expect(page.get_by_role("status")).to_have_text("Solicitação enviada.")
    page.get_by_label("Comprovante de residência").set_input_files(files=[{
        "name": "comprovante.pdf", "mimeType": "application/pdf", "buffer": PDF}])
    press(page.get_by_role("button", name=re.compile("^Enviar documento")))
    expect(page.get_by_role("status")).to_have_text("Documento enviado.")
    expect(page.get_by_role("link", name="comprovante.pdf")).to_be_visible()
    expect(page.get_by_text("15/01/2027")).to_be_visible()  # the date, as people write it
    accessible(page)
    found = re.search(r"/minhas-solicitacoes/([^/?#]+)", page.url)
    assert found
    return found.group(1)


def test_registrar_publishes_citizen_applies_is_served_and_reviews_guest_joins(
        server: str, page: Page, platform: Platform, chromium: Chromium) -> None:
    api = Api(platform)
    publish(page, server)
    release_two(page)
    rid = apply(page, server)

    api.into_service(rid)
    settle(platform, lambda: api.client.simulate_get(
        f"/requests/{rid}/meetings",
        headers={"Authorization": f"Bearer {token(platform, 'attendant')}"}).status_code == 200
        and api.client.simulate_get(
            f"/requests/{rid}/followups",
            headers={"Authorization": f"Bearer {token(platform, 'attendant')}"}
        ).status_code == 200)
    api.followup(rid, "Envie a licença sanitária, por favor.")
    meeting = api.meeting(rid, in_minutes=10)
    invitation = api.invite(rid, meeting)

    nav = page.get_by_role("navigation", name="Menu principal")
    press(nav.get_by_role("link", name="Minhas solicitações"))
    expect(page.get_by_role("table", name="Minhas solicitações")).to_be_visible()
    accessible(page)
    press(page.get_by_role("link", name=re.compile("^Ver solicitação Alvará de feira")))
    expect(page.get_by_role("heading", name="Histórico de Acompanhamentos")).to_be_visible()
    expect(page.get_by_text("Envie a licença sanitária, por favor.")).to_be_visible()
    page.get_by_label("Mensagem", exact=True).fill("Segue a licença.")
    page.get_by_label("Anexos", exact=True).set_input_files(files=[{
        "name": "licenca.pdf", "mimeType": "application/pdf", "buffer": PDF}])
    press(page.get_by_role("button", name="Enviar", exact=True))
    expect(page.get_by_role("status")).to_have_text("Resposta enviada.")
    expect(page.get_by_role("link", name="licenca.pdf")).to_be_visible()
    accessible(page)
    narrow(page)

    jitsi(page)
    expect(page.get_by_label("Seu nome", exact=True)).to_have_value(PEOPLE["citizen"]["name"])
    press(page.get_by_role("button", name="Acessar"))
    expect(page.get_by_role("heading", level=1, name="Videoconferência")).to_be_visible()
    room = page.frame_locator("iframe[title='Sala da videoconferência']")
    expect(room.get_by_role("heading", name="Sala")).to_be_visible()
    accessible(page)
    press(page.get_by_role("link", name="Voltar à solicitação"))

    # The guest, in a browser of their own, with the invitation's link.
    guest = chromium.new_context(locale="pt-BR").new_page()
    guest.problems = []  # type: ignore[attr-defined]
    jitsi(guest)
    guest.goto(f"{server}/console/convite?codigo={invitation}")
    expect(guest.get_by_role("heading", level=1, name="Entrar na reunião")).to_be_visible()
    accessible(guest)
    narrow(guest)
    guest.get_by_label("Seu nome", exact=True).fill("Gil Convidado")
    press(guest.get_by_role("button", name="Entrar na reunião"))
    frame = guest.frame_locator("iframe[title='Sala da videoconferência']")
    expect(frame.get_by_role("heading", name="Sala")).to_be_visible()
    accessible(guest)
    guest.context.close()

    api.conclude(rid)
    page.reload()
    expect(page.get_by_role("heading", name="Conclusão")).to_be_visible()
    expect(page.get_by_text("Certidão emitida.")).to_be_visible()
    with page.expect_download() as download:
        press(page.get_by_role("link", name=re.compile("^Baixar PDF da conclusão")))
    assert Path(download.value.path()).read_bytes() == PDF
    settle(platform, lambda: _concluded_for_reviews(platform, rid))
    snapshot(page, "console-citizen-request.png")
    accessible(page)
    press(page.get_by_role("radio", name="Aprovar atendimento"), " ")
    page.get_by_label("Nota", exact=True).select_option("5")
    page.get_by_label("Comentário", exact=True).fill("Atendimento rápido e claro.")
    press(page.get_by_role("button", name="Enviar avaliação"))
    expect(page.get_by_role("status")).to_have_text("Avaliação enviada. Obrigado!")
    accessible(page)

    press(nav.get_by_role("link", name="Notificações"))
    expect(page.get_by_role("heading", level=1, name="Notificações")).to_be_visible()
    accessible(page)
    press(page.get_by_role("button", name="Marcar como lida").first)
    expect(page.get_by_role("status")).to_have_text("Notificação marcada como lida.")
    narrow(page)
    logout(page)


def _concluded_for_reviews(platform: Platform, rid: str) -> bool:
    from services.reviews import repository

    view = repository.get_view(platform.contexts["reviews"].table, rid)
    return view is not None and view.snapshot.status == "concluded"
