# ruff: noqa: F811  (the fixtures chromium, server and page come from test_browser)
"""The attendant's manual played in a real browser (Debian's Chromium, Playwright): the
keyboard and the accessible names only, axe-core on every screen passed through. One run
approves a request to a colleague and follows it to its moderated review; a short one
rejects another with a justification."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

import pytest
from playwright.sync_api import Page, expect

from console.templating import BRASILIA
from infra.bootstrap import Platform
from infra.demo import PEOPLE
from tests.console.attendant_flow import PDF, PNG, api, review, submit, token
from tests.console.test_browser import accessible, chromium, page, server, snapshot  # noqa: F401

pytestmark = pytest.mark.slow

def press(page: Page, role: str, name: str) -> None:
    """Focus the control named ``name`` and press Enter on it, as a keyboard user does."""
    control = page.get_by_role(role, name=name, exact=True)  # type: ignore[arg-type]
    control.focus()
    page.keyboard.press("Enter")


def type_into(page: Page, label: str, text: str) -> None:
    field = page.get_by_label(label, exact=True)  # the contract's names, to the letter
    field.focus()
    page.keyboard.press("Control+A")
    page.keyboard.type(text)


def login(page: Page, server: str, who: str) -> None:
    page.goto(server + "/console/entrar")
    press(page, "button", f"Entrar como {PEOPLE[who]['name']}")
    expect(page.get_by_role("heading", level=1, name="Solicitações")).to_be_visible()


def open_first(page: Page) -> None:
    press(page, "link", "Detalhes")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Solicitação de")
    accessible(page)


def step(page: Page, label: str):  # type: ignore[no-untyped-def]
    return page.get_by_role("region", name=label, exact=True)


def test_approved_request_followed_up_concluded_and_its_review_moderated(
        server: str, page: Page, platform: Platform) -> None:
    rid = submit(platform)
    login(page, server, "attendant")
    accessible(page)
    snapshot(page, "console-panel.png")
    open_first(page)
    press(page, "button", "Iniciar Análise")
    expect(page.get_by_role("status").first).to_have_text("Análise iniciada.")
    expect(page.get_by_role("status").first).to_be_focused()

    first = step(page, "Identidade conferida")
    first.get_by_role("button", name="Não", exact=True).focus()
    page.keyboard.press("Enter")  # Não without an Observação
    expect(page.get_by_text("Informe a observação para responder Não.").first).to_be_visible()
    expect(page.locator("#resumo-erros")).to_be_focused()
    accessible(page)
    for label in ("Identidade conferida", "Cadastro regular"):
        step(page, label).get_by_role("button", name="Sim", exact=True).focus()
        page.keyboard.press("Enter")
        expect(step(page, label)).to_contain_text("Verificação: Sim")

    press(page, "button", "Aprovar")
    dialog = page.get_by_role("dialog", name="Aprovar solicitação")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_label("Atendente")).to_be_focused()
    accessible(page)
    dialog.get_by_label("Atendente").select_option(label=PEOPLE["attendant2"]["name"])
    press(page, "button", "Sim, Aprovar!")
    expect(page.get_by_role("status").first).to_have_text("Solicitação aprovada e atribuída.")
    press(page, "button", "Sair")
    expect(page.get_by_role("link", name="Entrar")).to_be_visible()

    login(page, server, "attendant2")
    menu = page.get_by_role("navigation", name="Menu principal")
    menu.get_by_role("link", name="Notificações").focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1, name="Notificações")).to_be_visible()
    accessible(page)
    page.get_by_role("button", name="Marcar como lida").first.focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("status").first).to_have_text("Notificação marcada como lida.")
    menu.get_by_role("link", name="Solicitações").focus()
    page.keyboard.press("Enter")
    open_first(page)
    type_into(page, "Mensagem", "Segue o parecer técnico.")
    page.get_by_label("Anexos").set_input_files(
        files=[{"name": "parecer.pdf", "mimeType": "application/pdf", "buffer": PDF}])
    press(page, "button", "Enviar")
    expect(page.get_by_role("status").first).to_have_text("Acompanhamento enviado.")
    history = page.get_by_role("region", name="Histórico de Acompanhamentos")
    expect(history.get_by_role("link", name="parecer.pdf")).to_be_visible()
    citizen = {"Authorization": f"Bearer {token(platform, 'citizen')}"}
    r = api(platform).simulate_post(f"/requests/{rid}/followups", headers=citizen,
                                    json={"body": "Obrigada pelo retorno!"})
    assert r.status_code == 201
    expect(history).to_contain_text("Obrigada pelo retorno!", timeout=10_000)  # polled

    soon = datetime.now(BRASILIA) + timedelta(minutes=10)
    page.get_by_label("Data").fill((soon - timedelta(days=2)).strftime("%Y-%m-%d"))
    page.get_by_label("Hora").fill(soon.strftime("%H:%M"))
    type_into(page, "Assunto", "Conferência dos documentos")
    type_into(page, "Duração (minutos)", "30")
    press(page, "button", "Agendar")
    expect(page.get_by_text("A data e a hora devem estar no futuro.").first).to_be_visible()
    expect(page.get_by_label("Assunto")).to_have_value("Conferência dos documentos")
    accessible(page)
    page.get_by_label("Data").fill(soon.strftime("%Y-%m-%d"))
    press(page, "button", "Agendar")
    expect(page.get_by_role("status").first).to_have_text("Reunião agendada.")
    accessible(page)
    snapshot(page, "console-detail.png")
    page.set_viewport_size({"width": 320, "height": 640})  # reflow: no sideways scroll
    assert page.evaluate("document.body.scrollWidth") <= 320
    page.set_viewport_size({"width": 1280, "height": 800})

    press(page, "link", "Convidar")
    type_into(page, "Nome", "Perito Convidado")
    type_into(page, "E-mail", "perito@example.com")
    accessible(page)
    press(page, "button", "Enviar convite")
    expect(page.get_by_role("status").first).to_have_text("Convite enviado.")
    press(page, "link", "Acessar")
    expect(page.get_by_label("Seu nome")).to_have_value(PEOPLE["attendant2"]["name"])
    accessible(page)
    press(page, "button", "Acessar")
    room = page.get_by_role("link", name="Abrir a sala da reunião (nova aba)")
    expect(room).to_have_attribute("target", "_blank")
    expect(room).to_have_attribute("href", re.compile(
        "^" + re.escape(platform.settings.jitsi_base_url) + "/"))
    accessible(page)

    press(page, "link", "Voltar à solicitação")
    press(page, "link", "Concluir")
    expect(page.get_by_role("heading", level=1, name="Concluir Solicitação")).to_be_visible()
    type_into(page, "Resumo", "Certidão emitida e enviada.")
    page.get_by_label("Arquivo (PDF)").set_input_files(
        files=[{"name": "certidao.png", "mimeType": "image/png", "buffer": PNG}])
    press(page, "button", "Finalizar")
    expect(page.get_by_text("Envie um arquivo PDF.").first).to_be_visible()
    expect(page.get_by_label("Resumo")).to_have_value("Certidão emitida e enviada.")
    accessible(page)
    page.get_by_label("Arquivo (PDF)").set_input_files(
        files=[{"name": "certidao.pdf", "mimeType": "application/pdf", "buffer": PDF}])
    press(page, "button", "Finalizar")
    expect(page.get_by_role("status").first).to_have_text("Solicitação concluída.")
    verdict = page.get_by_role("region", name="Avaliação do cidadão")
    expect(verdict).to_contain_text("Aguardando")
    accessible(page)

    review(platform, rid, "approved", "Muito bom, me liguem no 11 98765-4321 se precisar")
    for _ in range(50):
        page.reload()
        if "Aprovado" in (verdict.text_content() or ""):
            break
        page.wait_for_timeout(100)
    expect(verdict).to_contain_text("Aprovado")

    nav = page.get_by_role("navigation", name="Menu principal")
    nav.get_by_role("link", name="Avaliações").focus()
    page.keyboard.press("Enter")
    for _ in range(50):
        if page.get_by_role("button", name="Aprovar comentário").count():
            break
        page.wait_for_timeout(100)
        page.reload()
    expect(page.get_by_text("contém um telefone")).to_be_visible()
    accessible(page)
    press(page, "button", "Aprovar comentário")
    expect(page.get_by_role("status").first).to_have_text("Comentário aprovado e publicado.")
    accessible(page)


def test_rejected_with_a_justification(server: str, page: Page, platform: Platform) -> None:
    submit(platform)
    login(page, server, "attendant")
    open_first(page)
    press(page, "button", "Iniciar Análise")
    press(page, "button", "Reprovar")
    dialog = page.get_by_role("dialog", name="Reprovar solicitação")
    expect(dialog.get_by_label("Justificativa")).to_be_focused()
    page.keyboard.type("curta")
    press(page, "button", "Confirmar reprovação")
    expect(page.get_by_role("heading", level=1, name="Reprovar solicitação")).to_be_visible()
    expect(page.get_by_text("Escreva ao menos 10 caracteres.").first).to_be_visible()
    expect(page.get_by_label("Justificativa")).to_have_value("curta")
    accessible(page)
    type_into(page, "Justificativa", "Documento de identidade ilegível.")
    press(page, "button", "Confirmar reprovação")
    expect(page.get_by_role("status").first).to_have_text("Solicitação reprovada.")
    expect(page.get_by_role("region", name="Reprovação")).to_contain_text(
        "Documento de identidade ilegível.")
    accessible(page)
