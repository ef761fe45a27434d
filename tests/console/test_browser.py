"""The console in a real browser (Debian's Chromium driven by Playwright) on a real
server: keyboard only, and axe-core on every screen at WCAG 2.2 AA."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from axe_playwright_python.sync_playwright import Axe
from falcon import testing
from playwright.sync_api import Browser as Chromium
from playwright.sync_api import Page, expect, sync_playwright
from waitress import create_server

from infra.bootstrap import Platform
from infra.demo import PEOPLE
from infra.gateway import gateway_for
from shared.identity import dev_secret, mint

pytestmark = pytest.mark.slow

CHROMIUM = Path("/usr/bin/chromium")
WCAG = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
_axe = Axe()


@pytest.fixture(scope="module")
def chromium() -> Iterator[Chromium]:
    if not CHROMIUM.exists():
        pytest.fail("Debian's chromium is missing: apt-get install chromium (.ci/run does)")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True)
        yield browser
        browser.close()


@pytest.fixture
def server(platform: Platform) -> Iterator[str]:
    srv = create_server(gateway_for(platform), host="127.0.0.1", port=0, threads=2)
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    yield f"http://localhost:{srv.effective_port}"
    srv.close()


@pytest.fixture
def page(chromium: Chromium) -> Iterator[Page]:
    context = chromium.new_context(locale="pt-BR")
    page = context.new_page()
    problems: list[str] = []
    # Chrome logs a page answered 4xx as an error too; subresources are judged below.
    page.on("console", lambda m: problems.append(m.text) if m.type == "error"
            and not m.text.startswith("Failed to load resource") else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.on("response", lambda r: problems.append(f"{r.status} {r.url}")
            if r.status >= 400 and r.request.resource_type != "document" else None)
    page.problems = problems  # type: ignore[attr-defined]
    yield page
    context.close()


DOCS = Path(__file__).resolve().parents[2] / "docs"


def snapshot(page: Page, name: str) -> None:
    """The docs' screenshots, retaken when ATENDE_SCREENSHOTS=1 (not on every run: the
    tree stays clean)."""
    if os.environ.get("ATENDE_SCREENSHOTS") == "1":
        page.screenshot(path=str(DOCS / name), full_page=True)


def accessible(page: Page) -> None:
    """Zero axe violations at WCAG 2.2 AA, no script error, no CSP refusal."""
    results = _axe.run(page, options={"runOnly": {"type": "tag", "values": WCAG}})
    assert results.violations_count == 0, results.generate_report()
    assert page.problems == [], page.problems  # type: ignore[attr-defined]
    assert page.locator("h1").count() == 1
    assert page.locator("html").get_attribute("lang") == "pt-BR"


def tab_to(page: Page, name: str, limit: int = 40) -> None:
    """Press Tab until the focused control's text is ``name``."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        text = page.evaluate("document.activeElement && document.activeElement.innerText")
        if (text or "").strip() == name:
            return
    raise AssertionError(f"no control named {name!r} reached by Tab")


def test_keyboard_only_login_panel_and_logout(server: str, page: Page) -> None:
    page.goto(server + "/console/")
    expect(page).to_have_title("Serviços disponíveis | Prefeitura Demo")
    accessible(page)
    page.keyboard.press("Tab")  # the skip link comes first
    expect(page.get_by_role("link", name="Ir para o conteúdo")).to_be_focused()
    tab_to(page, "Entrar")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1, name="Entrar")).to_be_visible()
    expect(page.get_by_label("Token")).to_be_visible()
    accessible(page)
    tab_to(page, f"Entrar como {PEOPLE['attendant']['name']}")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1, name="Solicitações")).to_be_visible()
    nav = page.get_by_role("navigation", name="Menu principal")
    expect(nav.get_by_role("link", name="Solicitações")).to_be_visible()
    expect(page.get_by_role("banner")).to_contain_text(PEOPLE["attendant"]["name"])
    expect(page.get_by_role("table", name="Solicitações")).to_be_visible()
    expect(page.get_by_role("columnheader", name="Ações")).to_be_visible()
    accessible(page)
    tab_to(page, "Sair")
    page.keyboard.press("Enter")
    expect(page.get_by_role("link", name="Entrar")).to_be_visible()
    page.goto(server + "/console/solicitacoes")
    expect(page).to_have_url(server + "/console/entrar")


def _submit(platform: Platform, count: int = 1) -> None:
    s = platform.settings
    token = mint(dev_secret(s), issuer=s.jwt_issuer, audience=s.jwt_audience,
                 **PEOPLE["citizen"])
    client = testing.TestClient(gateway_for(platform))
    service = client.simulate_get("/catalog/services").json["items"][0]
    for _ in range(count):
        r = client.simulate_post("/requests", headers={"Authorization": f"Bearer {token}"},
                                 json={"service_id": service["id"], "answers": {
                                     "nome": "Carla", "cpf": "529.982.247-25",
                                     "finalidade": "estudo"}})
        assert r.status_code == 201


def _login(page: Page, server: str, who: str) -> None:
    page.goto(server + "/console/entrar")
    page.get_by_role("button", name=f"Entrar como {PEOPLE[who]['name']}").click()


def test_every_screen_passes_axe(server: str, page: Page, platform: Platform,
                                 make_console: Callable[..., Any]) -> None:
    _submit(platform)
    page.goto(server + "/console/entrar")
    page.get_by_role("button", name="Entrar", exact=True).click()  # empty: errors shown
    expect(page.get_by_text("Campo obrigatório.").first).to_be_visible()
    expect(page.locator("#resumo-erros")).to_be_focused()
    accessible(page)
    page.goto(server + "/console/nao-existe")
    expect(page.get_by_role("heading", level=1)).to_have_text("Página não encontrada")
    accessible(page)
    _login(page, server, "attendant")
    expect(page.get_by_role("link", name="Detalhes")).to_have_count(1)
    accessible(page)
    page.set_viewport_size({"width": 320, "height": 640})  # reflow: no sideways scroll
    assert page.evaluate("document.body.scrollWidth") <= 320
    page.set_viewport_size({"width": 1280, "height": 800})
    page.get_by_role("button", name="Sair").click()
    _login(page, server, "citizen")
    expect(page.get_by_role("heading", level=1, name="Serviços")).to_be_visible()
    accessible(page)
    page.goto(server + "/console/solicitacoes")
    expect(page.get_by_role("heading", level=1)).to_have_text("Acesso não permitido")
    accessible(page)


def test_perfil_nao_liberado_passes_axe(server: str, page: Page, platform: Platform) -> None:
    s = platform.settings
    reg = mint(dev_secret(s), issuer=s.jwt_issuer, audience=s.jwt_audience,
               **PEOPLE["registrar"])
    client = testing.TestClient(gateway_for(platform))
    who = PEOPLE["attendant2"]
    r = client.simulate_put(f"/attendants/{who['sub']}",
                            headers={"Authorization": f"Bearer {reg}"},
                            json={"name": who["name"], "unit": who["unit"], "enabled": False})
    assert r.status_code == 200
    _login(page, server, "attendant2")
    expect(page.get_by_role("heading", level=1)).to_have_text("Perfil não liberado")
    expect(page.get_by_role("navigation", name="Menu principal")).to_have_count(0)
    accessible(page)


def test_htmx_pages_the_panel_in_place_and_moves_focus(server: str, page: Page,
                                                       platform: Platform) -> None:
    _submit(platform, count=21)
    _login(page, server, "attendant")
    expect(page.get_by_role("link", name="Detalhes")).to_have_count(20)
    page.get_by_role("link", name="Próxima página").focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("link", name="Detalhes")).to_have_count(1)
    expect(page.locator("caption")).to_be_focused()  # not lost on the removed link
    assert "cursor=" in page.url  # the address names the page shown
    expect(page.get_by_role("heading", level=1)).to_have_text("Solicitações")
    accessible(page)
