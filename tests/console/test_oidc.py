"""OpenID Connect end to end against a real provider running in the test (pytest-iam,
Canaille): the login works, and each attack on it is refused."""

from __future__ import annotations

import datetime
import uuid
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from console import oidc
from console.sessions import _key
from infra.bootstrap import Platform
from infra.gateway import gateway_for
from shared.clock import FrozenClock
from shared.identity import dev_secret, mint
from tests.console.conftest import Browser

REDIRECT = "http://localhost/console/oidc/callback"
ORG, UNIT = "pref", "atend"


@pytest.fixture(scope="session")
def iam_configuration(iam_configuration: dict[str, Any]) -> dict[str, Any]:
    # Canaille puts only registered claims in an ID token: the institution and the unit
    # ride on two of them here, as the console's claim settings allow.
    iam_configuration["CANAILLE_OIDC"]["USERINFO_MAPPING"] = {
        "SUB": "{{ user.user_name }}", "NAME": "{{ user.formatted_name or '' }}",
        "EMAIL": "{% if user.emails %}{{ user.emails[0] }}{% endif %}",
        "LOCALE": "{{ user.organization or '' }}", "WEBSITE": "{{ user.department or '' }}"}
    return iam_configuration


@pytest.fixture(scope="session")
def iam_client(iam_server: Any) -> Any:
    client = iam_server.models.Client(
        client_id="atende-console", client_secret="segredo-do-console",
        client_name="Atende", client_uri="http://localhost/console/",
        redirect_uris=[REDIRECT], post_logout_redirect_uris=["http://localhost/console"],
        client_id_issued_at=datetime.datetime.now(datetime.UTC),
        scope=["openid", "profile", "email", "groups"],
        grant_types=["authorization_code"], response_types=["code"],
        token_endpoint_auth_method="client_secret_basic")
    iam_server.backend.save(client)
    client.audience = [client]  # without it Canaille's ID tokens carry an empty aud
    iam_server.backend.save(client)
    return client


@pytest.fixture(autouse=True)
def one_code_at_a_time(iam_server: Any) -> Iterator[None]:
    """pytest-iam's in-memory store finds an authorization code by its value OR its
    client, so a code left unspent by one test would answer for another's: each test
    starts and ends with none."""

    def spend() -> None:
        for code in iam_server.backend.query(iam_server.models.AuthorizationCode):
            iam_server.backend.delete(code)

    spend()
    yield
    spend()


def _user(iam_server: Any, **attrs: Any) -> Any:
    attrs.setdefault("user_name", f"u{uuid.uuid4().hex[:8]}")
    user = iam_server.random_user(**attrs)
    iam_server.consent(user)
    return user


@pytest.fixture
def attendant(iam_server: Any, iam_client: Any) -> Any:
    group = iam_server.random_group(display_name="attendant")
    user = _user(iam_server, formatted_name="Otília Atendente", organization=ORG,
                 department=UNIT, emails=["otilia@example.gov.br"])
    group.members = [*group.members, user]
    iam_server.backend.save(group)
    return user


@pytest.fixture
def citizen(iam_server: Any, iam_client: Any) -> Any:
    # gov.br's sub is the CPF, and its ID token carries no roles.
    cpf = str(uuid.uuid4().int)[:11]
    return _user(iam_server, user_name=cpf, formatted_name="Carla Cidadã")


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(datetime.datetime.now(datetime.UTC))


@pytest.fixture
def oidc_platform(make_console: Callable[..., Platform], iam_server: Any, iam_client: Any,
                  clock: FrozenClock) -> Platform:
    platform = make_console(
        clock, demo=False, console_dev_login=False, oidc_issuer=iam_server.url,
        oidc_client_id=iam_client.client_id, oidc_client_secret=iam_client.client_secret,
        oidc_redirect_url=REDIRECT, oidc_scopes="openid profile email groups",
        oidc_roles_claim="groups", oidc_org_claim="locale", oidc_unit_claim="website",
        console_session_idle_minutes=240, console_session_absolute_minutes=240)
    s = platform.settings
    reg = mint(dev_secret(s), sub="reg", roles=["registrar"], org=ORG, issuer=s.jwt_issuer,
               audience=s.jwt_audience)
    platform.registrar = {"Authorization": f"Bearer {reg}"}  # type: ignore[attr-defined]
    return platform


@pytest.fixture
def browser(oidc_platform: Platform) -> Browser:
    return Browser(gateway_for(oidc_platform))


@pytest.fixture
def logged_in(iam_server: Any) -> Iterator[Callable[[Any], None]]:
    yield iam_server.login
    iam_server.logout()


def authorize(browser: Browser, iam_server: Any) -> tuple[str, dict[str, str]]:
    """Start a login at the console and let the provider answer: the callback URL."""
    start = browser.get("/console/entrar")
    assert start.status_code == 303, start.text
    url = urlsplit(start.headers["Location"])
    query = {k: v[0] for k, v in parse_qs(url.query).items()}
    assert query["code_challenge_method"] == "S256" and query["code_challenge"]
    assert query["state"] and query["nonce"] and query["client_id"] == "atende-console"
    answer = iam_server.test_client.get(f"{url.path}?{url.query}")
    assert answer.status_code == 302, answer.text
    back = urlsplit(answer.headers["Location"])
    assert f"{back.scheme}://{back.netloc}{back.path}" == REDIRECT
    return f"{back.path}?{back.query}", query


def enrol(platform: Platform, user: Any) -> None:
    r = browser_client(platform).simulate_put(
        f"/attendants/{user.user_name}", headers=platform.registrar,  # type: ignore[attr-defined]
        json={"name": "Otília Atendente", "unit": UNIT, "enabled": True})
    assert r.status_code == 200, r.text


def browser_client(platform: Platform) -> Any:
    return Browser(gateway_for(platform)).client


def refused(r: Any) -> bool:
    return r.status_code == 400 and "Não foi possível concluir a entrada" in r.text


def test_an_attendant_logs_in_and_out_through_the_provider(
        oidc_platform: Platform, browser: Browser, iam_server: Any, attendant: Any,
        logged_in: Callable[[Any], None]) -> None:
    enrol(oidc_platform, attendant)
    logged_in(attendant)
    callback, _ = authorize(browser, iam_server)
    anonymous = browser.cookies["atende"]
    r = browser.get(callback)
    assert r.status_code == 303 and r.headers["Location"] == "/console/solicitacoes", r.text
    assert browser.cookies["atende"] != anonymous  # rotated at login
    panel = browser.get("/console/solicitacoes")
    assert panel.status_code == 200 and "Otília Atendente" in panel.text
    assert ">Solicitações</caption>" in panel.text
    csp = panel.headers["Content-Security-Policy"]
    assert f"form-action 'self' {iam_server.url.rstrip('/')}" in csp
    csrf = browser.csrf("/console/solicitacoes")
    out = browser.post("/console/sair", {"csrf": csrf})
    end = urlsplit(out.headers["Location"])
    assert out.status_code == 303 and end.path.endswith("/end_session")
    hint = parse_qs(end.query)["id_token_hint"][0]
    assert jwt.decode(hint, options={"verify_signature": False})["sub"] == attendant.user_name
    assert browser.get("/console/solicitacoes").status_code == 303


def test_a_citizen_without_roles_gets_a_pseudonym_never_the_cpf(
        oidc_platform: Platform, browser: Browser, iam_server: Any, citizen: Any,
        logged_in: Callable[[Any], None]) -> None:
    logged_in(citizen)
    callback, _ = authorize(browser, iam_server)
    r = browser.get(callback)
    assert r.status_code == 303 and r.headers["Location"] == "/console/servicos"
    page = browser.get("/console/servicos")
    assert "Carla Cidadã" in page.text and citizen.user_name not in page.text
    table = oidc_platform.database.table("console")  # type: ignore[union-attr]
    stored = table.get(_key(browser.cookies["atende"]), "SESSION")
    assert stored is not None
    sub = stored["principal"]["sub"]
    assert stored["principal"]["roles"] == ["citizen"]
    assert sub.startswith("cid-") and citizen.user_name not in sub
    # The same person gets the same pseudonym at the next login.
    again = Browser(gateway_for(oidc_platform))
    again.get(authorize(again, iam_server)[0])
    other = table.get(_key(again.cookies["atende"]), "SESSION")
    assert other is not None and other["principal"]["sub"] == sub


def test_a_wrong_state_is_refused(oidc_platform: Platform, browser: Browser,
                                  iam_server: Any, attendant: Any,
                                  logged_in: Callable[[Any], None]) -> None:
    logged_in(attendant)
    callback, query = authorize(browser, iam_server)
    state = query["state"]
    # Another first character: "x" in its place would leave one state in 64 unchanged.
    r = browser.get(callback.replace(state, ("y" if state[0] == "x" else "x") + state[1:]))
    assert refused(r)
    assert browser.get("/console/solicitacoes").status_code == 303  # not signed in
    # The login under way is spent: the right state no longer works either.
    assert refused(browser.get(callback))


def test_a_wrong_pkce_verifier_is_refused(oidc_platform: Platform, browser: Browser,
                                          iam_server: Any, attendant: Any,
                                          logged_in: Callable[[Any], None]) -> None:
    logged_in(attendant)
    callback, _ = authorize(browser, iam_server)
    table = oidc_platform.database.table("console")  # type: ignore[union-attr]
    item = table.get(_key(browser.cookies["atende"]), "SESSION")
    assert item is not None
    item["pending"]["verifier"] = "a" * 64  # as if an attacker replayed the code elsewhere
    from shared.tables import Put

    table.transact([Put(item)])
    assert refused(browser.get(callback))
    assert browser.get("/console/solicitacoes").status_code == 303


def test_a_replayed_code_is_refused(oidc_platform: Platform, browser: Browser,
                                    iam_server: Any, attendant: Any,
                                    logged_in: Callable[[Any], None]) -> None:
    enrol(oidc_platform, attendant)
    logged_in(attendant)
    callback, _ = authorize(browser, iam_server)
    assert browser.get(callback).status_code == 303
    thief = Browser(gateway_for(oidc_platform))
    assert refused(thief.get(callback))  # no login under way in that browser
    # Nor under a login of its own started at the console: the provider spent the code.
    start = thief.get("/console/entrar")
    fresh = parse_qs(urlsplit(start.headers["Location"]).query)
    fresh = {k: v[0] for k, v in fresh.items()}
    code = parse_qs(urlsplit(callback).query)["code"][0]
    assert refused(thief.get(f"/console/oidc/callback?code={code}&state={fresh['state']}"))
    assert thief.get("/console/solicitacoes").status_code == 303


def test_an_expired_id_token_is_refused(oidc_platform: Platform, browser: Browser,
                                        iam_server: Any, attendant: Any, clock: FrozenClock,
                                        logged_in: Callable[[Any], None]) -> None:
    logged_in(attendant)
    callback, _ = authorize(browser, iam_server)
    clock.advance(hours=3)  # the provider's token, minted now, is read three hours later
    assert refused(browser.get(callback))


@pytest.mark.parametrize("forgery", [None, "foreign_key", "foreign_issuer",
                                     "other_audience", "other_nonce"])
def test_a_foreign_id_token_is_refused(
        oidc_platform: Platform, browser: Browser, iam_server: Any, attendant: Any,
        logged_in: Callable[[Any], None], monkeypatch: pytest.MonkeyPatch,
        forgery: str | None) -> None:
    """The provider's answer with its ID token swapped for one signed with a key of our
    own. Signed with the provider's key id, the signature fails; the others are checked
    with our key in the JWKS's place, so only the changed claim can refuse them (and the
    unchanged copy, the control, gets in)."""
    enrol(oidc_platform, attendant)
    logged_in(attendant)
    callback, query = authorize(browser, iam_server)
    real_http = oidc.Provider._http
    own_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)

    def swapped(self: oidc.Provider, request: Any) -> dict[str, Any]:
        answer = real_http(self, request)
        if "id_token" not in answer:
            return answer
        claims = jwt.decode(answer["id_token"], options={"verify_signature": False})
        if forgery == "foreign_key":
            kid = jwt.get_unverified_header(answer["id_token"])["kid"]
            answer["id_token"] = jwt.encode(claims, own_key, "RS256", {"kid": kid})
            return answer
        changed = {None: {}, "foreign_issuer": {"iss": "https://sso.other.example"},
                   "other_audience": {"aud": ["another-client"]},
                   "other_nonce": {"nonce": "not-" + query["nonce"]}}[forgery]
        answer["id_token"] = jwt.encode({**claims, **changed}, own_key, "RS256",
                                        {"kid": "own"})
        monkeypatch.setattr(self._jwks, "get_signing_key_from_jwt",
                            lambda token: jwt.PyJWK.from_dict(_public_jwk(own_key)))
        return answer

    monkeypatch.setattr(oidc.Provider, "_http", swapped)
    r = browser.get(callback)
    if forgery is None:
        assert r.status_code == 303 and r.headers["Location"] == "/console/solicitacoes"
        return
    assert refused(r)
    assert browser.get("/console/solicitacoes").status_code == 303


def _public_jwk(key: rsa.RSAPrivateKey) -> dict[str, Any]:
    import json

    jwk: dict[str, Any] = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
    return {**jwk, "alg": "RS256", "kid": "own"}
