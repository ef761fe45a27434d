"""The console's guard on every request: the session from its cookie, the same-origin and
CSRF checks on every state-changing request, and the security headers on every answer."""

from __future__ import annotations

import hmac
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import falcon

from console.forms import posted_fields
from console.sessions import Session, SessionStore
from shared.errors import BadRequest, Forbidden


class Refused(Forbidden):
    """A post that did not come from this console's own page in this session."""

    in_portuguese = ("O formulário expirou ou não veio desta página. Recarregue a página e "
                     "tente de novo.")


SAFE = frozenset({"GET", "HEAD", "OPTIONS"})
LOOPBACK = frozenset({"localhost", "127.0.0.1", "::1", "[::1]"})
SECURE_COOKIE, PLAIN_COOKIE = "__Host-atende", "atende"
CSRF_FIELD, CSRF_HEADER = "csrf", "X-CSRF-Token"


def origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else ""


def content_security_policy(jitsi_base_url: str, issuer: str | None) -> str:
    # Chrome holds a form's redirect to form-action too: logging out ends at the
    # provider's end-session endpoint.
    form_action = " ".join(filter(None, ["'self'", origin_of(issuer or "")]))
    frames = origin_of(jitsi_base_url) or "'none'"
    return "; ".join([
        "default-src 'self'", "script-src 'self'", "style-src 'self'",
        "img-src 'self' data:", "font-src 'self'", "connect-src 'self'",
        f"frame-src {frames}", "frame-ancestors 'none'",
        f"form-action {form_action}", "base-uri 'none'", "object-src 'none'",
    ])


def secure(req: falcon.Request) -> bool:
    return req.scheme == "https"


def cookie_name(req: falcon.Request) -> str:
    return SECURE_COOKIE if secure(req) else PLAIN_COOKIE


def set_session_cookie(req: falcon.Request, resp: falcon.Response, session: Session) -> None:
    resp.set_cookie(cookie_name(req), session.id, path="/", secure=secure(req),
                    http_only=True, same_site="Lax")


def clear_session_cookie(req: falcon.Request, resp: falcon.Response) -> None:
    # With the same attributes as when set: a browser refuses a __Host- cookie without
    # Secure, even one that only expires it.
    resp.set_cookie(cookie_name(req), "", path="/", secure=secure(req), http_only=True,
                    same_site="Lax", expires=datetime(1970, 1, 1, tzinfo=UTC))


class Guard:
    def __init__(self, sessions: SessionStore, csp: str, static_prefix: str) -> None:
        self.sessions, self.csp, self.static = sessions, csp, static_prefix

    def process_request(self, req: falcon.Request, resp: falcon.Response) -> None:
        if req.path.startswith(self.static):
            return
        if not secure(req) and req.host not in LOOPBACK:
            # A session cookie over plain HTTP crosses the network readable by anyone.
            raise BadRequest("the console needs HTTPS off this machine")
        session = self.sessions.load(req.cookies.get(cookie_name(req)))
        req.context.session = session

    def process_resource(self, req: falcon.Request, resp: falcon.Response,
                         resource: object, params: dict[str, Any]) -> None:
        if req.method in SAFE:
            return
        expected = f"{req.scheme}://{req.netloc}"
        seen = req.get_header("Origin") or origin_of(req.get_header("Referer") or "")
        if not seen or seen != expected:
            raise Refused("cross-origin request refused")
        session: Session | None = req.context.get("session")
        given = req.get_header(CSRF_HEADER) or posted_fields(req).get(CSRF_FIELD, "")
        if session is None or not hmac.compare_digest(given.encode(),
                                                      session.csrf.encode()):
            raise Refused("missing or wrong CSRF token")

    def process_response(self, req: falcon.Request, resp: falcon.Response,
                         resource: object, req_succeeded: bool) -> None:
        resp.set_header("Content-Security-Policy", self.csp)
        resp.set_header("X-Frame-Options", "DENY")
        resp.set_header("Referrer-Policy", "same-origin")
        resp.set_header("X-Content-Type-Options", "nosniff")
        if not req.path.startswith(self.static):
            # Pages show a person's data: not kept by the browser or a proxy.
            resp.cache_control = ["no-store"]
