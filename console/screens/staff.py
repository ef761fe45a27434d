"""What the attendant's screens share: who may act, a command whose refusal goes on its
form (console/forms.py puts it in Portuguese) and dates in Brasília's time."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import falcon

from console.attendance import Attendance
from console.forms import Form
from console.templating import local
from console.web import PREFIX, Console, reads_of
from shared.errors import DomainError, NotFound
from shared.identity import Principal

T = TypeVar("T")
STAFF = frozenset({"attendant", "registrar"})


def attempt(form: Form, command: Callable[[], T], fields: dict[str, str],
            default: str = "") -> tuple[T | None, int]:
    """Run a command for a form that passed its own checks: its result and 200, or the
    service's refusal placed on the form and its status. A request the caller may not see
    stays a 404 (raised)."""
    try:
        return command(), 200
    except NotFound:
        raise
    except DomainError as exc:
        form.take(exc, fields, default)
        return None, exc.status


def staff(console: Console, req: falcon.Request, *, roster: bool = True) -> Principal:
    """The signed-in staff member; anyone else finds no request here (404), a disabled
    attendant the page "Perfil não liberado". ``roster``: False where the screen reads the
    roster entry itself, with what it shows (``Console.person``)."""
    p = console.person(req, frozenset())
    if p is None:
        raise falcon.HTTPSeeOther(f"{PREFIX}/entrar")
    if not p.is_staff:
        raise NotFound("only the institution's staff see requests here")
    console.person(req, STAFF, roster=roster)
    return p


def attendance(console: Console, req: falcon.Request | None = None) -> Attendance:
    """The attendant's calls; given the request a page answers, its queries read each
    item once for the whole page (``console.services.Reads``)."""
    return Attendance(console.services.contexts,
                      reads_of(req, console.services) if req is not None else None)


def request_url(request_id: str, tail: str = "") -> str:
    return f"{PREFIX}/solicitacoes/{request_id}{tail}"


def see_other(url: str) -> falcon.HTTPSeeOther:
    return falcon.HTTPSeeOther(url)


def install_filters(console: Console) -> None:
    console.env.filters.setdefault("brasilia", local)

