"""How people appear in responses (API.md, Identity).

A party is ``{sub, name}``. In a response to a citizen, every party other than the citizen
is ``{name, role}``: staff subs (and a guest's) never reach a citizen. A party without a
usable name is shown by its role's label, never by its sub (with gov.br, a CPF). Whoever is
not staff of the request's institution reads as a citizen."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from pydantic import Field

from shared.identity import Principal, shown_name
from shared.model import Model

Doc = dict[str, Any]
PartyRole = Literal["citizen", "attendant", "registrar", "guest"]
STAFF_ROLES = frozenset({"attendant", "registrar"})


def _absent(value: object) -> bool:
    return value is None


class PartyOut(Model):
    """A party in a response: ``sub`` is left out in responses to a citizen, ``role`` where
    it is not said."""

    sub: str | None = Field(default=None, exclude_if=_absent)
    name: str
    role: PartyRole | None = Field(default=None, exclude_if=_absent)


def reads_as_staff(who: Principal, org: str) -> bool:
    """Whether ``who`` reads a request of ``org`` as its staff (else as a citizen)."""
    return who.is_staff and who.org == org


def shown(party: Mapping[str, Any] | None, *, citizen_sub: str, to_citizen: bool,
          role: str | None = None) -> Doc | None:
    """``party`` as the reader may see it. ``role``: the party's role where the caller
    knows it better than the party says (a timeline entry's type)."""
    if party is None:
        return None
    sub = party.get("sub")
    own = sub == citizen_sub
    role = party.get("role") or role or _role_of(sub, own)
    name = shown_name(party.get("name"), sub, citizen=role not in STAFF_ROLES)
    if to_citizen and not own:
        return {"name": name, "role": role}
    out: Doc = {"sub": sub, "name": name}
    if "role" in party:
        out["role"] = party["role"]
    return out


def shown_within(doc: Any, *, citizen_sub: str, to_citizen: bool) -> Any:
    """``doc`` with every party in it (a mapping with a ``sub`` and a ``name``) shown as
    ``shown`` says, wherever it sits (a timeline entry's data)."""
    if isinstance(doc, Mapping):
        if "sub" in doc and "name" in doc:
            return shown(doc, citizen_sub=citizen_sub, to_citizen=to_citizen)
        return {k: shown_within(v, citizen_sub=citizen_sub, to_citizen=to_citizen)
                for k, v in doc.items()}
    if isinstance(doc, list):
        return [shown_within(v, citizen_sub=citizen_sub, to_citizen=to_citizen) for v in doc]
    return doc


def _role_of(sub: Any, own: bool) -> str:
    if own:
        return "citizen"
    return "guest" if str(sub).startswith("guest:") else "attendant"
