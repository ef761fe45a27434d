"""The console served in process: shell, assets, dev login, sessions, CSRF, headers."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from pydantic import ValidationError

from infra.bootstrap import Platform
from infra.demo import PEOPLE
from infra.gateway import gateway_for
from shared.clock import FrozenClock
from shared.identity import dev_secret, mint
from shared.settings import Settings
from tests.console.conftest import Browser


def token_for(platform: Platform, who: str, ttl: int = 600) -> str:
    s = platform.settings
    return mint(dev_secret(s), issuer=s.jwt_issuer, audience=s.jwt_audience, ttl=ttl,
                **PEOPLE[who])


def h1s(html: str) -> list[str]:
    return re.findall(r"<h1[^>]*>(.*?)</h1>", html, re.S)


def title(html: str) -> str:
    match = re.search(r"<title>(.*?)</title>", html, re.S)
    assert match
    return match.group(1)


def test_public_home_shows_the_catalog_and_entrar_with_the_security_headers(
        browser: Browser) -> None:
    r = browser.get("/console/")
    assert r.status_code == 200
    assert '<html lang="pt-BR">' in r.text
    assert h1s(r.text) == ["Serviços disponíveis"]
    assert "Certidão de regularidade" in r.text
    assert 'href="/console/entrar">Entrar</a>' in r.text
    assert 'href="#conteudo">Ir para o conteúdo</a>' in r.text
    csp = r.headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "frame-src https://meet.jit.si" in csp
    assert "'unsafe-inline'" not in csp and "frame-ancestors 'none'" in csp
    assert r.headers["X-Frame-Options"] == "DENY"
    assert r.headers["Referrer-Policy"] == "same-origin"
    assert r.headers["Cache-Control"] == "no-store"
    assert "<script>" not in r.text and "style=" not in r.text  # nothing inline
    assert h1s(browser.get("/console").text) == ["Serviços disponíveis"]


def test_assets_are_served_by_content_hash_with_long_cache(browser: Browser) -> None:
    page = browser.get("/console/").text
    urls = re.findall(r'(?:href|src)="(/console/static/[^"]+)"', page)
    assert {u.rsplit("/", 1)[1].split(".")[0] for u in urls} == {
        "favicon", "core", "console", "htmx"}
    for url in urls:
        r = browser.get(url)
        assert r.status_code == 200, url
        assert "max-age=31536000" in r.headers["Cache-Control"]
        assert r.headers["Content-Type"].startswith(("text/css", "text/javascript",
                                                     "image/x-icon"))
    css = browser.get(next(u for u in urls if "/console." in u and u.endswith(".css"))).text
    fonts = re.findall(r'url\("(/console/static/raleway-\d+\.[0-9a-f]+\.woff2)"\)', css)
    assert len(fonts) == 3
    font = browser.get(fonts[0])
    assert font.status_code == 200 and font.headers["Content-Type"] == "font/woff2"
    assert font.content[:4] == b"wOF2"
    stale = re.sub(r"\.[0-9a-f]{12}\.", ".000000000000.", urls[0])
    assert browser.get(stale).status_code == 404


def test_dev_login_with_a_token_rotates_the_session_and_sets_a_safe_cookie(
        platform: Platform, browser: Browser) -> None:
    page = browser.get("/console/entrar")
    assert h1s(page.text) == ["Entrar"]
    assert 'for="campo-token">Token' in page.text and ">Entrar</button>" in page.text
    anonymous = browser.cookies["atende"]
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert csrf
    r = browser.post("/console/entrar", {"csrf": csrf.group(1),
                                         "token": token_for(platform, "attendant")})
    assert r.status_code == 303 and r.headers["Location"] == "/console/solicitacoes"
    cookie = r.cookies["atende"]
    assert cookie.http_only and cookie.same_site == "Lax" and cookie.path == "/"
    assert browser.cookies["atende"] != anonymous
    panel = browser.get("/console/solicitacoes")
    assert panel.status_code == 200 and "Ana Atendente" in panel.text
    # The anonymous session's id is gone: no fixation.
    stale = Browser(gateway_for(platform))
    stale.cookies["atende"] = anonymous
    assert stale.get("/console/solicitacoes").status_code == 303


def test_a_refused_token_is_an_error_by_the_field_and_in_the_summary(
        platform: Platform, browser: Browser) -> None:
    csrf = browser.csrf("/console/entrar")
    expired = token_for(platform, "attendant", ttl=-120)
    r = browser.post("/console/entrar", {"csrf": csrf, "token": expired})
    assert r.status_code == 422
    assert 'id="erro-token">Token inválido ou expirado.</span>' in r.text
    assert 'aria-invalid="true"' in r.text and 'aria-describedby="erro-token"' in r.text
    assert '<a href="#campo-token">Token: Token inválido ou expirado.</a>' in r.text
    assert expired not in r.text
    empty = browser.post("/console/entrar", {"csrf": csrf, "token": " "})
    assert 'id="erro-token">Campo obrigatório.</span>' in empty.text


def test_https_uses_the_host_prefixed_secure_cookie(platform: Platform) -> None:
    browser = Browser(gateway_for(platform), host="atende.example.gov.br", scheme="https")
    r = browser.login_demo("attendant")
    assert r.status_code == 303
    cookie = r.cookies["__Host-atende"]
    assert cookie.secure and cookie.http_only and cookie.same_site == "Lax"
    assert cookie.path == "/" and cookie.domain is None
    assert browser.get("/console/solicitacoes").status_code == 200


def test_plain_http_off_this_machine_is_refused(platform: Platform) -> None:
    browser = Browser(gateway_for(platform), host="atende.example.gov.br")
    r = browser.get("/console/entrar")
    assert r.status_code == 400 and "set-cookie" not in r.headers


def test_demo_buttons_and_the_menu_by_role(platform: Platform, browser: Browser) -> None:
    page = browser.get("/console/entrar").text
    for person in PEOPLE.values():
        assert f">Entrar como {person['name']}</button>" in page
    browser.login_demo("citizen")
    catalog = browser.get("/console/servicos")
    assert '<nav class="atende-menu" aria-label="Menu principal">' in catalog.text
    assert ">Serviços</a>" in catalog.text and ">Solicitações</a>" not in catalog.text
    refused = browser.get("/console/solicitacoes")
    assert refused.status_code == 403 and h1s(refused.text) == ["Acesso não permitido"]
    assert title(refused.text) != title(catalog.text)


def test_state_changing_requests_need_the_csrf_token_and_the_same_origin(
        browser: Browser) -> None:
    csrf = browser.csrf("/console/entrar")
    who = {"pessoa": "attendant"}
    refused = browser.post("/console/entrar/demo", who)
    assert refused.status_code == 403 and "O formulário expirou" in refused.text
    assert browser.post("/console/entrar/demo", {**who, "csrf": "x" * 43}).status_code == 403
    assert browser.post("/console/entrar/demo", {**who, "csrf": csrf},
                        origin="https://evil.example").status_code == 403
    assert browser.post("/console/entrar/demo", {**who, "csrf": csrf},
                        origin=None).status_code == 403  # neither Origin nor Referer
    r = browser.post("/console/entrar/demo", who, origin=None,
                     headers={"Referer": "http://localhost/console/entrar",
                              "X-CSRF-Token": csrf})
    assert r.status_code == 303


def test_logout_ends_the_session(platform: Platform, browser: Browser) -> None:
    browser.login_demo("attendant")
    old = browser.cookies["atende"]
    csrf = browser.csrf("/console/solicitacoes")
    r = browser.post("/console/sair", {"csrf": csrf})
    assert r.status_code == 303 and r.headers["Location"] == "/console"
    assert r.cookies["atende"].value == "" and r.cookies["atende"].expires.year == 1970
    assert browser.get("/console/solicitacoes").headers["Location"] == "/console/entrar"
    again = Browser(gateway_for(platform))
    again.cookies["atende"] = old
    assert again.get("/console/solicitacoes").status_code == 303


def test_sessions_expire_when_idle_and_at_their_absolute_age(
        make_console: Callable[..., Platform]) -> None:
    clock = FrozenClock()
    platform = make_console(clock, console_session_idle_minutes=10,
                            console_session_absolute_minutes=25)
    browser = Browser(gateway_for(platform))
    browser.login_demo("attendant")
    for _ in range(3):  # used every 8 minutes: alive past the idle limit
        clock.advance(minutes=8)
        assert browser.get("/console/solicitacoes").status_code == 200
    clock.advance(minutes=2)  # 26 minutes old
    assert browser.get("/console/solicitacoes").status_code == 303
    browser.login_demo("attendant")
    clock.advance(minutes=11)
    assert browser.get("/console/solicitacoes").status_code == 303


def test_a_disabled_attendant_sees_only_perfil_nao_liberado(
        platform: Platform, browser: Browser) -> None:
    client = browser.client
    reg = {"Authorization": f"Bearer {token_for(platform, 'registrar')}"}
    p = PEOPLE["attendant2"]
    r = client.simulate_put(f"/attendants/{p['sub']}", headers=reg, json={
        "name": p["name"], "unit": p["unit"], "enabled": False})
    assert r.status_code == 200
    browser.login_demo("attendant2")
    page = browser.get("/console/solicitacoes")
    assert page.status_code == 403 and h1s(page.text) == ["Perfil não liberado"]
    assert "Menu principal" not in page.text and ">Sair</button>" in page.text


def test_the_panel_lists_the_units_requests_with_detalhes(
        platform: Platform, browser: Browser) -> None:
    client = browser.client
    service = client.simulate_get("/catalog/services").json["items"][0]
    cit = {"Authorization": f"Bearer {token_for(platform, 'citizen')}"}
    r = client.simulate_post("/requests", headers=cit, json={
        "service_id": service["id"], "answers": {
            "nome": "Carla", "cpf": "529.982.247-25", "finalidade": "estudo"}})
    assert r.status_code == 201
    browser.login_demo("attendant")
    page = browser.get("/console/solicitacoes").text
    assert "<caption tabindex=\"-1\" data-focus>Solicitações</caption>" in page
    assert '<th scope="col">Ações</th>' in page
    row = re.search(r"<tr>\s*<td>Carla Cidad.*?</tr>", page, re.S)
    assert row, page
    assert "Certidão de regularidade" in row.group(0) and "Enviada" in row.group(0)
    assert f'href="/console/solicitacoes/{r.json["id"]}">Detalhes</a>' in row.group(0)


def test_the_panel_pages_through_htmx_and_without_it(
        platform: Platform, browser: Browser) -> None:
    client = browser.client
    service = client.simulate_get("/catalog/services").json["items"][0]
    cit = {"Authorization": f"Bearer {token_for(platform, 'citizen')}"}
    for n in range(21):  # a page holds 20
        r = client.simulate_post("/requests", headers=cit, json={
            "service_id": service["id"], "answers": {
                "nome": f"Carla {n}", "cpf": "529.982.247-25", "finalidade": "estudo"}})
        assert r.status_code == 201
    browser.login_demo("attendant")
    page = browser.get("/console/solicitacoes").text
    assert page.count(">Detalhes</a>") == 20
    link = re.search(r'<a href="(\?cursor=[^"]+)" hx-get="\1" hx-target="#painel"', page)
    assert link, page
    url = "/console/solicitacoes" + link.group(1).replace("&amp;", "&")
    part = browser.get(url, headers={"HX-Request": "true"})
    assert part.status_code == 200 and "<html" not in part.text
    assert part.text.lstrip().startswith('<div class="br-table atende-table" id="painel">')
    assert part.text.count(">Detalhes</a>") == 1 and "Próxima página" not in part.text
    whole = browser.get(url)  # the same address without htmx: the whole page
    assert "<html" in whole.text and whole.text.count(">Detalhes</a>") == 1


def test_unknown_pages_get_the_portuguese_error_page(browser: Browser) -> None:
    r = browser.get("/console/nao-existe")
    assert r.status_code == 404 and h1s(r.text) == ["Página não encontrada"]
    assert r.headers["Content-Type"].startswith("text/html")
    assert r.headers["X-Frame-Options"] == "DENY"


def test_dev_login_off_outside_atende_dev(make_console: Callable[..., Platform]) -> None:
    platform = make_console(demo=False, console_dev_login=False)
    browser = Browser(gateway_for(platform))
    assert browser.get("/console/entrar").status_code == 503
    csrf_page = browser.get("/console/entrar").text
    assert "Token" not in csrf_page


def test_dev_login_cannot_be_enabled_with_an_identity_provider(tmp_path: object) -> None:
    oidc = {"oidc_issuer": "https://sso.example.gov.br", "oidc_client_id": "atende",
            "oidc_client_secret": "s", "oidc_redirect_url": "https://x/console/oidc/callback"}
    Settings(**oidc)
    with pytest.raises(ValidationError, match="development login cannot be enabled"):
        Settings(console_dev_login=True, **oidc)
    with pytest.raises(ValidationError, match="or none"):
        Settings(oidc_issuer="https://sso.example.gov.br")


def test_only_atende_dev_turns_the_dev_login_on(monkeypatch: pytest.MonkeyPatch) -> None:
    import argparse

    from infra.cli import _console_settings

    monkeypatch.setenv("ATENDE_CONSOLE_DEV_LOGIN", "true")
    assert not _console_settings(argparse.Namespace(command="serve")).console_dev_login
    assert _console_settings(argparse.Namespace(command="dev")).console_dev_login
    for key, value in {"ISSUER": "https://sso.example.gov.br", "CLIENT_ID": "atende",
                       "CLIENT_SECRET": "s", "REDIRECT_URL": "https://x/cb"}.items():
        monkeypatch.setenv(f"ATENDE_OIDC_{key}", value)
    monkeypatch.delenv("ATENDE_CONSOLE_DEV_LOGIN")
    assert not _console_settings(argparse.Namespace(command="dev")).console_dev_login


def test_half_an_identity_provider_is_one_clear_line(monkeypatch: pytest.MonkeyPatch) -> None:
    import argparse

    from infra.cli import _console_settings
    from infra.process import OperatorError

    monkeypatch.setenv("ATENDE_OIDC_ISSUER", "https://sso.example.gov.br")
    with pytest.raises(OperatorError) as stop:
        _console_settings(argparse.Namespace(command="dev"))
    message = str(stop.value)
    assert message.startswith("bad settings: set all of ATENDE_OIDC_ISSUER")
    assert "\n" not in message


def test_text_assets_go_compressed_to_a_browser_that_accepts_gzip(browser: Browser) -> None:
    import gzip

    page = browser.get("/console/").text
    css = next(u for u in re.findall(r'href="(/console/static/core\.[^"]+)"', page))
    plain = browser.get(css)
    packed = browser.get(css, headers={"Accept-Encoding": "gzip, br"})
    assert plain.headers.get("Content-Encoding") is None
    assert packed.headers["Content-Encoding"] == "gzip"
    assert "Accept-Encoding" in packed.headers["Vary"]
    assert gzip.decompress(packed.content) == plain.content
    assert len(packed.content) < len(plain.content) / 4  # the design system's CSS, mostly
