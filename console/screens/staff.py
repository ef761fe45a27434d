"""What the attendant's screens share: who may act, the services' errors placed by field in
Portuguese, dates in Brasília's time, and the page of a request shown again with a form's
errors or a status message."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TypeVar
from zoneinfo import ZoneInfo

import falcon

from console.attendance import Attendance
from console.forms import DETAILS, GENERIC, Form, in_portuguese
from console.web import PREFIX, Console
from shared.errors import DomainError, NotFound
from shared.identity import Principal

BRASILIA = ZoneInfo("America/Sao_Paulo")
T = TypeVar("T")
STAFF = frozenset({"attendant", "registrar"})

# What the services say that the foundation's table does not know, matched anywhere in
# the message (pydantic prefixes a validator's text with "Value error, ").
_MESSAGES = (
    ("must be in the future", "A data e a hora devem estar no futuro."),
    ("at least 10 characters", "Escreva ao menos 10 caracteres."),
    ("file must be one of: pdf", "Envie um arquivo PDF."),
    ("file must be one of", "Tipo de arquivo não aceito: envie PDF, JPEG ou PNG."),
    ("file larger than", "Arquivo grande demais."),
    ("room opens 15 minutes", "A sala abre 15 minutos antes do início e fecha no fim da "
                              "reunião; tente de novo nesse intervalo."),
    ("meeting was cancelled", "A reunião foi cancelada."),
    ("meeting has ended", "A reunião já terminou."),
    ("has started cannot be rescheduled", "Uma reunião já iniciada não pode ser remarcada."),
    ("already invited", "Esta pessoa já foi convidada."),
    ("does not match", "E-mail inválido."),
    ("should be greater than or equal to 15", "A duração mínima é de 15 minutos."),
    ("should be less than or equal to 240", "A duração máxima é de 240 minutos."),
    ("enabled attendant", "Escolha um atendente liberado desta unidade."),
    ("assigned a request they made", "Quem fez a solicitação não pode atendê-la."),
)


def portuguese(message: str, status: int = 422) -> str:
    low = message.lower()
    for part, text in _MESSAGES:
        if part in low:
            return text
    known = in_portuguese(message)
    return known if known != GENERIC else DETAILS.get(status, GENERIC)


def place(form: Form, exc: DomainError, fields: dict[str, str], default: str = "") -> None:
    """A service's problem on the form: each error by the field it concerns (``fields``
    maps the API's names to the form's), the rest on ``default`` (or the summary)."""
    for err in exc.errors or []:
        name = fields.get(err.get("field", "").removeprefix("body."))
        if name is not None:
            message = err.get("message", "")
            if "pattern" in message and name == "email":
                form.add(name, "E-mail inválido.")
            else:
                form.add(name, portuguese(message, exc.status))
    if form.ok:
        form.add(default, portuguese(exc.detail, exc.status))


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
        place(form, exc, fields, default)
        return None, exc.status


def local(value: str | None, with_time: bool = True) -> str:
    """An ISO 8601 instant in Brasília's time: dd/mm/aaaa hh:mm."""
    if not value:
        return "—"
    try:
        at = datetime.fromisoformat(value).astimezone(BRASILIA)
    except ValueError:
        return value
    return at.strftime("%d/%m/%Y %H:%M" if with_time else "%d/%m/%Y")


def staff(console: Console, req: falcon.Request) -> Principal:
    """The signed-in staff member; anyone else finds no request here (404), a disabled
    attendant the page "Perfil não liberado"."""
    p = console.person(req, frozenset())
    if p is None:
        raise falcon.HTTPSeeOther(f"{PREFIX}/entrar")
    if not p.is_staff:
        raise NotFound("only the institution's staff see requests here")
    console.person(req, STAFF)
    return p


def attendance(console: Console) -> Attendance:
    return Attendance(console.services.contexts)


def request_url(request_id: str, tail: str = "") -> str:
    return f"{PREFIX}/solicitacoes/{request_id}{tail}"


def see_other(url: str) -> falcon.HTTPSeeOther:
    return falcon.HTTPSeeOther(url)


def install_filters(console: Console) -> None:
    console.env.filters.setdefault("brasilia", local)

