"""The console's Falcon app, served by the gateway under ``/console/``."""

from __future__ import annotations

from typing import Any

import falcon

from console import login
from console.assets import Assets, StaticResource
from console.forms import Uploads
from console.oidc import Provider
from console.screens import (
    citizen,
    guest,
    moderation,
    notifications,
    panel,
    public,
    registrar,
    request_detail,
)
from console.security import Guard, content_security_policy
from console.services import Services
from console.sessions import SessionStore
from console.web import PREFIX, Console
from shared.clock import Clock
from shared.context import ServiceContext
from shared.http import RequestContext
from shared.identity import dev_secret
from shared.settings import Settings
from shared.tables import Table

# Notificações last: a person's first menu entry is their home.
SCREENS = (public, panel, request_detail, moderation, citizen, registrar, guest, notifications)


def create_console(settings: Settings, clock: Clock, table: Table,
                   contexts: dict[str, ServiceContext], *,
                   demo: dict[str, dict[str, Any]] | None = None) -> falcon.App:
    """The console over the services' contexts, its sessions in ``table``; ``demo`` the
    people the development login offers a button for."""
    assets = Assets(PREFIX + "/static")
    sessions = SessionStore(table, clock,
                            idle_seconds=settings.console_session_idle_minutes * 60,
                            absolute_seconds=settings.console_session_absolute_minutes * 60)
    csp = content_security_policy(settings.jitsi_base_url, settings.oidc_issuer)
    middleware: list[Any] = [RequestContext("console"), Uploads(settings),
                             Guard(sessions, csp, assets.prefix)]
    app = falcon.App(middleware=middleware)
    app.req_options.strip_url_path_trailing_slash = False
    console = Console(settings, clock, sessions, assets, Services(contexts), app, demo=demo)
    if settings.oidc_configured:
        secret = settings.console_subject_secret or dev_secret(settings)
        console.oidc = Provider(settings, clock, secret)
    console.install_error_pages()
    app.add_route(PREFIX + "/static/{name}", StaticResource(assets))
    verifier = next(iter(contexts.values())).verifier
    app.add_route(PREFIX + "/entrar", login.Login(console, verifier))
    app.add_route(PREFIX + "/entrar/demo", login.DemoLogin(console))
    app.add_route(PREFIX + "/oidc/callback", login.Callback(console))
    app.add_route(PREFIX + "/sair", login.Logout(console))
    for screens in SCREENS:
        screens.register(console)
    return app

