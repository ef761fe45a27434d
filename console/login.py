"""Logging in and out: the identity provider's flow, or the development login (a token
printed by ``atende token``, and with ``--demo`` one button per demo person)."""

from __future__ import annotations

import dataclasses
import logging
from typing import Any

import falcon

from console.forms import Form
from console.oidc import Flow, LoginFailed
from console.security import clear_session_cookie, set_session_cookie
from console.sessions import Session
from console.web import PREFIX, Console
from shared.errors import NotFound, Unauthorized
from shared.identity import Principal, Verifier

log = logging.getLogger("atende.console")
TOKEN_LABELS = {"token": "Token"}


def _session(req: falcon.Request) -> Session | None:
    session: Session | None = req.context.get("session")
    return session


def _anonymous(console: Console, req: falcon.Request, resp: falcon.Response) -> Session:
    """This browser's session, made now if it has none: a login form needs its CSRF
    token, a login flow its state."""
    session = _session(req)
    if session is None:
        session = console.sessions.new()
        set_session_cookie(req, resp, session)
        req.context.session = session
    return session


def _signed_in(console: Console, req: falcon.Request, resp: falcon.Response, p: Principal,
               id_token: str | None = None) -> None:
    session = console.sessions.rotate(_session(req), p, id_token=id_token)
    set_session_cookie(req, resp, session)
    req.context.session = session
    see_other(resp, console.home_for(p))


def see_other(resp: falcon.Response, url: str) -> None:
    # Set, not raised: the answer carries the cookie set before it.
    resp.status = falcon.HTTP_303
    resp.location = url


class Login:
    """``/console/entrar``: off to the identity provider, or the development form."""

    def __init__(self, console: Console, verifier: Verifier) -> None:
        self.console, self.verifier = console, verifier

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        c = self.console
        session = _session(req)
        if session is not None and session.signed_in:
            raise falcon.HTTPSeeOther(c.home_for(session.principal))
        if c.oidc is not None:
            url = c.oidc.authorize_url(flow := Flow.new())  # the metadata first: may fail
            session = _anonymous(c, req, resp)
            if c.sessions.save(dataclasses.replace(session, pending=dataclasses.asdict(flow))
                               ) is None:
                raise LoginFailed("session changed concurrently")
            see_other(resp, url)
            return
        if not c.settings.console_dev_login:
            c.error_page(req, resp, 503, "Nenhum provedor de identidade está configurado.")
            return
        _anonymous(c, req, resp)
        self._form(req, resp, Form(labels=TOKEN_LABELS))

    def _form(self, req: falcon.Request, resp: falcon.Response, form: Form,
              status: int = 200) -> None:
        demo = [{"key": k, "name": p["name"]} for k, p in (self.console.demo or {}).items()]
        self.console.render(req, resp, "login.html", title="Entrar", status=status,
                            form=form, demo=demo)

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        if not self.console.settings.console_dev_login:
            raise NotFound("no development login here")
        form = Form.posted(req, TOKEN_LABELS)
        form.require("token")
        p = None
        if form.ok:
            try:
                p = self.verifier.verify(form.value("token").strip())
            except Unauthorized as exc:
                form.take(exc, {"": "token"}, default="token")
        if p is None:
            form.values["token"] = ""  # a refused token is not shown back
            self._form(req, resp, form, status=422)
            return
        _signed_in(self.console, req, resp, p)


class DemoLogin:
    """``/console/entrar/demo``: the demo person named by the button pressed."""

    def __init__(self, console: Console) -> None:
        self.console = console

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        demo = self.console.demo if self.console.settings.console_dev_login else None
        who = Form.posted(req).value("pessoa")
        claims: dict[str, Any] | None = (demo or {}).get(who)
        if claims is None:
            raise NotFound("no such demo person")
        p = Principal(sub=claims["sub"], name=claims.get("name") or "",
                      email=claims.get("email"), roles=tuple(claims["roles"]),
                      org=claims.get("org"), unit=claims.get("unit"))
        _signed_in(self.console, req, resp, p)


class Callback:
    """``/console/oidc/callback``: the provider's answer, checked against this browser's
    login under way (used once)."""

    def __init__(self, console: Console) -> None:
        self.console = console

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        c = self.console
        session = _session(req)
        if c.oidc is None or session is None:
            raise LoginFailed("no login under way in this browser")
        session, pending = c.sessions.take_pending(session)
        req.context.session = session
        if pending is None:
            raise LoginFailed("no login under way in this browser")
        if req.get_param("error"):
            raise LoginFailed("the identity provider refused the login")
        try:
            p, id_token = c.oidc.finish(Flow(**pending), req.get_param("state") or "",
                                        req.get_param("code") or "")
        except LoginFailed as exc:  # the reason names no person: worth a line
            log.warning("oidc login refused", extra={"fields": {"reason": exc.detail}})
            raise
        _signed_in(c, req, resp, p, id_token)


class Logout:
    """``/console/sair`` (a form post: a link could be followed from another site)."""

    def __init__(self, console: Console) -> None:
        self.console = console

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        c = self.console
        session = _session(req)
        id_token = session.id_token if session else None
        if session is not None:
            c.sessions.delete(session.id)
        clear_session_cookie(req, resp)
        req.context.session = None
        after = f"{req.scheme}://{req.netloc}{PREFIX}"
        end = c.oidc.logout_url(id_token, after) if c.oidc is not None else None
        see_other(resp, end or PREFIX)
