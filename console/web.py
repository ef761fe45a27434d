"""The console's hub: rendering, the menu by role, the page base class, the error pages.

A screen is a ``Page`` subclass (a resource: who may see it, what it shows) and a template
extending ``base.html``. ``Console.screen`` routes it and, given a menu entry, lists it in
the main menu of the roles it names.
"""

from __future__ import annotations

import logging
import secrets
import threading
from dataclasses import dataclass, field
from typing import Any

import falcon
import jinja2
import orjson
from markupsafe import Markup, escape
from pydantic import BaseModel

from console.assets import Assets
from console.forms import DETAILS, TITLES, Form
from console.services import Reads, Services
from console.sessions import Session, SessionStore
from console.templating import environment, loader
from shared.clock import Clock
from shared.errors import DomainError, Forbidden
from shared.identity import Principal
from shared.settings import Settings

log = logging.getLogger("atende.console")
PREFIX = "/console"


_keeping = threading.Lock()


def keep(kept: dict[Any, Any], key: Any, value: Any, size: int) -> None:
    """``kept[key] = value``, the oldest entry dropped once ``size`` are kept. The server's
    threads share these dicts: a drop looks up the oldest key while another thread may
    add one, which a lock keeps apart (reads need none)."""
    with _keeping:
        if len(kept) >= size:
            kept.pop(next(iter(kept)), None)
        kept[key] = value


class Forms:
    """A form's HTML from its macro (``template``'s ``name``, called as (form, action,
    csrf)). With nothing typed and no error, as on every page's GET, a form is the same
    for every request and person but for its address and the CSRF token: it is rendered
    once with placeholders for those two, which each page replaces, escaped as the
    template would. A form's fields were most of the cost of the request's detail."""

    ACTION, CSRF = "\x00action\x00", "\x00csrf\x00"

    def __init__(self, env: jinja2.Environment) -> None:
        self.env = env
        self.kept: dict[tuple[str, str], str] = {}

    def __call__(self, template: str, name: str, form: Form, action: str,
                 csrf: str) -> Markup:
        macro = getattr(self.env.get_template(template).module, name)
        if form.values or form.errors:
            return Markup(macro(form, action, csrf))
        html = self.kept.get((template, name))
        if html is None:
            html = self.kept[(template, name)] = str(macro(Form(), self.ACTION, self.CSRF))
        return Markup(html.replace(self.ACTION, escape(action)).replace(self.CSRF,
                                                                          escape(csrf)))


class Kept:
    """Parts of a page that show only data (no session, no form): a macro of ``template``
    called with ``data``, its HTML kept by that data, which renders it the same for
    anyone who sees it; the oldest entries go first once ``size`` are kept."""

    def __init__(self, env: jinja2.Environment, size: int = 2048) -> None:
        self.env, self.size = env, size
        self.kept: dict[tuple[str, str, bytes], Markup] = {}

    def __call__(self, template: str, name: str, *data: Any) -> Markup:
        key = (template, name, orjson.dumps(data, option=orjson.OPT_NON_STR_KEYS))
        html = self.kept.get(key)
        if html is None:
            html = Markup(getattr(self.env.get_template(template).module, name)(*data))
            keep(self.kept, key, html, self.size)
        return html


def reads_of(req: falcon.Request, services: Services) -> Reads:
    """This request's reads of the services' tables (``Reads``), made on first use."""
    found: Reads | None = getattr(req.context, "reads", None)
    if found is None:
        found = req.context.reads = Reads(services.contexts)
    return found


def _plain(value: Any) -> Any:
    """A page's value as the key of ``Pages`` holds it; anything but data: TypeError."""
    if isinstance(value, Markup):  # apart from a str of the same text: it is not escaped
        return {"markup": str(value)}
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, frozenset | set):
        return sorted(value)
    raise TypeError(f"not data: {type(value).__name__}")


class Pages:
    """Whole pages kept by everything they show: the template and every value it is
    rendered with, but the CSRF token, which a kept page holds as a placeholder (one no
    data can contain) until it is sent. The same values render the same page (the
    templates iterate sequences and print scalars; the environment's globals never
    change), so a page found here is the one the template would render now; any change
    to what it shows is another key. A page with a value that is not data (JSON, models,
    dataclasses) is rendered afresh. The oldest go first once ``size`` are kept."""

    OPTIONS = orjson.OPT_NON_STR_KEYS | orjson.OPT_PASSTHROUGH_SUBCLASS

    def __init__(self, env: jinja2.Environment, size: int = 512) -> None:
        self.env, self.size = env, size
        self.csrf = f"\x00{secrets.token_hex(8)}\x00"
        self.kept: dict[tuple[str, bytes], str] = {}

    def __call__(self, template: str, csrf: str, values: dict[str, Any]) -> str:
        try:
            key = (template, orjson.dumps(values, default=_plain, option=self.OPTIONS))
        except TypeError:
            key = None
        if key is None or not csrf:  # no session: the template leaves its token out
            return self.env.get_template(template).render(csrf=csrf, **values)
        html = self.kept.get(key)
        if html is None:
            html = self.env.get_template(template).render(csrf=self.csrf, **values)
            keep(self.kept, key, html, self.size)
        return html.replace(self.csrf, escape(csrf))


class NotReleased(Forbidden):
    """An attendant whose profile the registrar has not enabled (or has blocked)."""


@dataclass(frozen=True)
class MenuEntry:
    label: str
    path: str
    roles: frozenset[str]


@dataclass
class Console:
    settings: Settings
    clock: Clock
    sessions: SessionStore
    assets: Assets
    services: Services
    app: falcon.App
    demo: dict[str, dict[str, Any]] | None = None  # `atende dev --demo`'s people
    oidc: Any = None  # console.oidc.Provider when an identity provider is configured
    menu: list[MenuEntry] = field(default_factory=list)
    _menus: dict[tuple[str, ...], list[MenuEntry]] = field(default_factory=dict, init=False,
                                                            repr=False)

    def __post_init__(self) -> None:
        dev = self.settings.console_dev_login
        self.env = environment(
            loader(dev),
            # Loaded once per process: checking every template's file on every render
            # was a stat per template per page. `atende dev` still picks up edits.
            auto_reload=dev, cache_size=-1)
        self.env.globals.update(asset=self.assets.url, institution=self.settings.institution_name,
                                prefix=PREFIX)
        self.env.globals["form_html"] = Forms(self.env)
        self.env.globals["kept"] = Kept(self.env)
        self.pages = Pages(self.env)
        # The same on every page, and four look-ups and escapes a page when rendered there.
        self.env.globals["head_assets"] = Markup(
            self.env.get_template("_head_assets.html").render().strip())

    def screen(self, path: str, resource: object, *, menu: str | None = None,
               roles: tuple[str, ...] = ()) -> None:
        self.app.add_route(PREFIX + path, resource)
        if menu is not None:
            self.menu.append(MenuEntry(menu, PREFIX + path, frozenset(roles)))
            self._menus.clear()

    def menu_for(self, p: Principal | None) -> list[MenuEntry]:
        """The entries of ``p``'s roles, worked out once per set of roles (every page
        shows them)."""
        if p is None:
            return []
        found = self._menus.get(p.roles)
        if found is None:
            found = self._menus[p.roles] = [m for m in self.menu if m.roles & set(p.roles)]
        return list(found)

    def home_for(self, p: Principal | None) -> str:
        entries = self.menu_for(p)
        return entries[0].path if entries else PREFIX

    # --- rendering -------------------------------------------------------------------

    def render(self, req: falcon.Request, resp: falcon.Response, template: str, *,
               title: str, status: int = 200, show_menu: bool = True, keep: bool = False,
               **data: Any) -> None:
        """``keep``: the page may be kept by what it shows (``Pages``), for a page
        read again and again as it is (a request's detail)."""
        session: Session | None = req.context.get("session")
        p = session.principal if session else None
        resp.status = falcon.code_to_http_status(status)
        resp.content_type = falcon.MEDIA_HTML
        values = {"title": f"{title} | {self.settings.institution_name}", "heading": title,
                  "principal": p, "menu": self.menu_for(p) if show_menu else [],
                  "path": req.path, **data}
        csrf = session.csrf if session else ""
        resp.text = (self.pages(template, csrf, values) if keep else
                     self.env.get_template(template).render(csrf=csrf, **values))

    # --- access ----------------------------------------------------------------------

    def person(self, req: falcon.Request, roles: frozenset[str], *,
               roster: bool = True) -> Principal | None:
        """The signed-in person allowed on a screen for ``roles`` (anyone when empty);
        anonymous on a screen that needs roles: off to the login. ``roster``: check an
        attendant's roster entry here (False where the screen's handler checks it)."""
        session: Session | None = req.context.get("session")
        p = session.principal if session else None
        if not roles:
            return p
        if p is None:
            raise falcon.HTTPSeeOther(f"{PREFIX}/entrar")
        granted = [r for r in roles if p.has(r)]
        if not granted:
            raise Forbidden("not a screen for this person")
        # Skipped only for a person who is nothing but an attendant: the handler's check
        # refuses exactly them, where it lets someone with another role act as that.
        if granted == ["attendant"] and (roster or len(p.roles) > 1) \
                and not self.services.attendant_enabled(p, reads_of(req, self.services)):
            raise NotReleased("this attendant's profile is not enabled")
        return p

    # --- errors ----------------------------------------------------------------------

    def install_error_pages(self) -> None:
        self.app.add_error_handler(Exception, self._on_unexpected)
        self.app.add_error_handler(falcon.HTTPError, self._on_http_error)
        self.app.add_error_handler(DomainError, self._on_domain_error)
        self.app.add_error_handler(NotReleased, self._on_not_released)

    def error_page(self, req: falcon.Request, resp: falcon.Response, status: int,
                   detail: str | None = None) -> None:
        self.render(req, resp, "error.html", title=TITLES.get(status, "Erro"), status=status,
                    detail=detail or DETAILS.get(status, DETAILS[400]))

    def _on_domain_error(self, req: falcon.Request, resp: falcon.Response, ex: DomainError,
                         params: dict[str, Any]) -> None:
        self.error_page(req, resp, ex.status, getattr(ex, "in_portuguese", None))

    def _on_not_released(self, req: falcon.Request, resp: falcon.Response, ex: NotReleased,
                         params: dict[str, Any]) -> None:
        self.render(req, resp, "not_released.html", title="Perfil não liberado", status=403,
                    show_menu=False)

    def _on_http_error(self, req: falcon.Request, resp: falcon.Response,
                       ex: falcon.HTTPError, params: dict[str, Any]) -> None:
        self.error_page(req, resp, ex.status_code)
        for key, value in dict(ex.headers or {}).items():
            resp.set_header(key, value)

    def _on_unexpected(self, req: falcon.Request, resp: falcon.Response, ex: Exception,
                       params: dict[str, Any]) -> None:
        if isinstance(ex, falcon.HTTPStatus):  # a redirect raised on purpose
            raise ex
        log.error("console error", exc_info=ex, extra={"fields": {"path": req.path}})
        self.error_page(req, resp, 500)


class Page:
    """A screen: its template, its title, who may see it (``roles``, any of them; public
    when empty) and ``view``, which returns what the template shows. With ``partial``,
    an htmx request gets that template alone (the part of the page it replaces)."""

    template = ""
    title = ""
    roles: frozenset[str] = frozenset()
    partial: str | None = None
    # The view's handler checks an attendant's roster entry itself (and the view turns
    # its refusal into NotReleased): one read a page fewer.
    roster_in_view = False

    def __init__(self, console: Console) -> None:
        self.console = console

    def view(self, req: falcon.Request, p: Principal | None, **params: Any) -> dict[str, Any]:
        return {}

    def on_get(self, req: falcon.Request, resp: falcon.Response, **params: Any) -> None:
        p = self.console.person(req, self.roles, roster=not self.roster_in_view)
        data = self.view(req, p, **params)
        data.setdefault("title", self.title)
        htmx = req.get_header("HX-Request") == "true" and not req.get_header("HX-Boosted")
        resp.vary = ("HX-Request",)
        self.console.render(req, resp, self.partial if htmx and self.partial else
                            self.template, **data)
