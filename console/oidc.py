"""OpenID Connect: the console as a confidential client of the state's identity provider.

Authorization code with PKCE (S256); ``state`` binds the provider's answer to the browser's
session, ``nonce`` binds the ID token to this login; the ID token is verified against the
provider's JWKS (signature, issuer, audience, expiry, nonce). The token stays on the
server: the browser gets only the session cookie.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import threading
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from shared.clock import Clock
from shared.errors import DomainError
from shared.identity import ROLES, Principal
from shared.settings import Settings

if TYPE_CHECKING:  # imported where a login uses it: a page needs neither it nor cryptography
    import jwt

ALGORITHMS = ["RS256", "RS384", "RS512", "PS256", "ES256", "ES384"]


class LoginFailed(DomainError):
    status, code, title = 400, "login_failed", "Login failed"
    in_portuguese = "Não foi possível concluir a entrada. Volte ao início e entre de novo."


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def challenge(verifier: str) -> str:
    return _b64(hashlib.sha256(verifier.encode()).digest())


@dataclass(frozen=True)
class Flow:
    """What a login under way keeps in the browser's session until the callback."""

    state: str
    nonce: str
    verifier: str

    @classmethod
    def new(cls) -> Flow:
        return cls(secrets.token_urlsafe(32), secrets.token_urlsafe(32),
                   secrets.token_urlsafe(48))


class Provider:
    def __init__(self, settings: Settings, clock: Clock, subject_secret: str) -> None:
        assert settings.oidc_issuer and settings.oidc_client_id
        self.s = settings
        self.issuer = settings.oidc_issuer.rstrip("/")
        self.clock = clock
        self._subject_key = subject_secret.encode()
        self._meta: dict[str, Any] | None = None
        self._jwks: jwt.PyJWKClient | None = None
        self._lock = threading.Lock()

    # --- the provider's metadata -----------------------------------------------------

    def _http(self, request: urllib.request.Request | str) -> dict[str, Any]:
        try:
            with urllib.request.urlopen(request, timeout=self.s.oidc_timeout_seconds) as r:
                doc: dict[str, Any] = json.loads(r.read())
                return doc
        except urllib.error.HTTPError as exc:
            raise LoginFailed(f"identity provider answered {exc.code}") from None
        except (urllib.error.URLError, OSError, ValueError) as exc:
            raise LoginFailed(f"identity provider unreachable: {type(exc).__name__}") from None

    @property
    def meta(self) -> dict[str, Any]:
        with self._lock:
            if self._meta is None:
                meta = self._http(f"{self.issuer}/.well-known/openid-configuration")
                if meta.get("issuer", "").rstrip("/") != self.issuer:
                    raise LoginFailed("the provider's metadata names another issuer")
                self._meta = meta
                import jwt

                self._jwks = jwt.PyJWKClient(meta["jwks_uri"], cache_keys=True,
                                             timeout=int(self.s.oidc_timeout_seconds))
            return self._meta

    # --- the flow --------------------------------------------------------------------

    def authorize_url(self, flow: Flow) -> str:
        query = urllib.parse.urlencode({
            "response_type": "code", "client_id": self.s.oidc_client_id,
            "redirect_uri": self.s.oidc_redirect_url, "scope": self.s.oidc_scopes,
            "state": flow.state, "nonce": flow.nonce,
            "code_challenge": challenge(flow.verifier), "code_challenge_method": "S256"})
        return f"{self.meta['authorization_endpoint']}?{query}"

    def finish(self, flow: Flow, state: str, code: str) -> tuple[Principal, str]:
        """The person behind ``code``, and their ID token; LoginFailed on anything amiss."""
        if not state or not hmac.compare_digest(state.encode(), flow.state.encode()):
            raise LoginFailed("state does not match this browser's login")
        if not code:
            raise LoginFailed("no authorization code")
        body = urllib.parse.urlencode({
            "grant_type": "authorization_code", "code": code,
            "redirect_uri": self.s.oidc_redirect_url, "code_verifier": flow.verifier}).encode()
        basic = base64.b64encode(
            f"{_form(self.s.oidc_client_id)}:{_form(self.s.oidc_client_secret)}".encode())
        request = urllib.request.Request(self.meta["token_endpoint"], data=body, headers={
            "Authorization": f"Basic {basic.decode()}", "Accept": "application/json",
            "Content-Type": "application/x-www-form-urlencoded"})
        tokens = self._http(request)
        id_token = tokens.get("id_token")
        if not isinstance(id_token, str):
            raise LoginFailed("the provider sent no ID token")
        return self.principal(self.verify(id_token, flow.nonce)), id_token

    def verify(self, id_token: str, nonce: str) -> dict[str, Any]:
        import jwt

        meta = self.meta
        assert self._jwks is not None
        try:
            key = self._jwks.get_signing_key_from_jwt(id_token).key
            # Times are checked below against the platform's clock, not the host's.
            claims: dict[str, Any] = jwt.decode(
                id_token, key, algorithms=ALGORITHMS, audience=self.s.oidc_client_id,
                issuer=meta["issuer"], options={
                    "require": ["iss", "sub", "aud", "exp", "iat"], "verify_exp": False,
                    "verify_iat": False, "verify_nbf": False})
        except (jwt.PyJWTError, ValueError) as exc:
            raise LoginFailed(f"ID token refused: {type(exc).__name__}") from None
        now, leeway = self.clock.now().timestamp(), self.s.jwt_leeway_seconds
        if not isinstance(claims["exp"], int | float) or claims["exp"] + leeway < now:
            raise LoginFailed("ID token expired")
        if not isinstance(claims["iat"], int | float) or claims["iat"] - leeway > now:
            raise LoginFailed("ID token issued in the future")
        aud = claims["aud"]
        if isinstance(aud, list) and len(aud) > 1 and claims.get("azp") != self.s.oidc_client_id:
            raise LoginFailed("ID token made for another party")
        given = claims.get("nonce")
        if not isinstance(given, str) or not hmac.compare_digest(given.encode(),
                                                                 nonce.encode()):
            raise LoginFailed("ID token nonce does not match this login")
        return claims

    def principal(self, claims: dict[str, Any]) -> Principal:
        """Staff by their roles, institution and unit claims; anyone without roles (a
        gov.br citizen, whose ``sub`` is a CPF) a citizen known by a pseudonym."""
        raw = claims.get(self.s.oidc_roles_claim) or []
        roles = tuple(r for r in ([raw] if isinstance(raw, str) else raw) if r in ROLES)
        name = str(claims.get(self.s.oidc_name_claim) or claims.get("name") or "")
        email = claims.get("email") if isinstance(claims.get("email"), str) else None
        if not roles:
            return Principal(sub=self.pseudonym(str(claims["iss"]), str(claims["sub"])),
                             name=name, email=email, roles=("citizen",))
        org, unit = claims.get(self.s.oidc_org_claim), claims.get(self.s.oidc_unit_claim)
        return Principal(sub=str(claims["sub"]), name=name, email=email, roles=roles,
                         org=str(org) if org else None, unit=str(unit) if unit else None)

    def pseudonym(self, issuer: str, sub: str) -> str:
        digest = hmac.new(self._subject_key, f"{issuer}\n{sub}".encode(), hashlib.sha256)
        return "cid-" + digest.hexdigest()[:32]

    def logout_url(self, id_token: str | None, after: str) -> str | None:
        """The provider's end-session endpoint, when it has one."""
        try:
            endpoint = self.meta.get("end_session_endpoint")
        except LoginFailed:
            return None
        if not endpoint:
            return None
        query = {"client_id": self.s.oidc_client_id, "post_logout_redirect_uri": after}
        if id_token:
            query["id_token_hint"] = id_token
        return f"{endpoint}?{urllib.parse.urlencode(query)}"


def _form(value: str | None) -> str:
    # client_secret_basic: id and secret are form-encoded before base64 (RFC 6749 2.3.1).
    return urllib.parse.quote_plus(value or "")
