"""The roster, as every service sees it, and the two rules of API.md's Identity section that
every service applies with it.

The requests service keeps the roster (``PUT /attendants/{sub}``) and publishes each entry,
whole, as ``RosterChanged``; every other service keeps its own copy in its own table from
those events. Source and copies share one item layout, so one reader serves them all::

    ROSTER#<org> / <sub>    {sub, name, email, org, unit, enabled, version}

Who is subject to the roster: a caller whose token carries the role ``attendant``. Not
enabled (no entry of the token's org, a disabled one, or one of another unit) they lose
that role: with another role left (registrar, citizen) they go on in it, registrars not
being subject to the roster; with none, every call is 403 ``attendant_not_enabled``. That
answer depends on the caller alone, so it comes before any lookup and tells nothing about
the request asked for (a request one may not see stays 404 for everyone else).

A copy lags its source by one event delivery: an attendant enrolled a moment ago may be
refused by another service for that moment, and one disabled a moment ago still let in.
"""

from __future__ import annotations

from typing import Any, Protocol

from shared.errors import AttendantNotEnabled, ConflictOfInterest
from shared.identity import Principal
from shared.messages import RosterChanged
from shared.tables import Item

STAFF_ROLES = frozenset({"attendant", "registrar"})


class Reader(Protocol):
    def get(self, pk: str, sk: str) -> Item | None: ...


def roster_pk(org: str, unit: str | None = None) -> str:
    """The roster's partition of an org (with ``unit``: the key of its unit index)."""
    return f"ROSTER#{org}" if unit is None else f"ROSTER#{org}#{unit}"


def get_entry(reader: Reader, org: str, sub: str) -> Item | None:
    return reader.get(roster_pk(org), sub)


def is_enabled(entry: Item | None, unit: str | None) -> bool:
    return entry is not None and bool(entry["enabled"]) and entry["unit"] == unit


def entry_keys(who: Principal) -> list[tuple[str, str]]:
    """The key ``require_enabled`` reads for ``who`` (none for a caller it does not
    check): for a handler to read it with its own items at once."""
    key = _entry_key(who)
    return [] if key is None else [key]


def _entry_key(who: Principal) -> tuple[str, str] | None:
    """The roster entry that lets an attendant act, if they have an org and a unit."""
    if who.has("attendant") and who.org and who.unit:
        return roster_pk(who.org), who.sub
    return None


def require_enabled(who: Principal, reader: Reader) -> Principal:
    """The caller as the roster lets them act: unchanged, without the attendant role, or
    refused (403 ``attendant_not_enabled``) when that role was all they had."""
    if not who.has("attendant"):
        return who
    key = _entry_key(who)
    if key is not None and is_enabled(reader.get(*key), who.unit):
        return who
    rest = tuple(r for r in who.roles if r != "attendant")
    if not rest:
        raise AttendantNotEnabled(
            "your attendant profile is not enabled for this unit; ask a registrar")
    return who.model_copy(update={"roles": rest})


def forbid_own(who: Principal, citizen_sub: str) -> None:
    """Nobody handles their own request: staff acting on one whose citizen is themselves
    are refused (403 ``conflict_of_interest``), whatever else they may do."""
    if who.sub == citizen_sub and STAFF_ROLES & set(who.roles):
        raise ConflictOfInterest("nobody may handle a request they made themselves")


def apply_roster(uow: Any, event: RosterChanged) -> bool:
    """Keep the newest copy of one entry; a repeat or an older copy changes nothing.
    ``uow``: a unit of work (``get``, ``put``). True if the copy changed."""
    current = get_entry(uow, event.org, event.attendant.sub)
    if current is not None and int(current["version"]) >= event.version:
        return False
    item = {"pk": roster_pk(event.org), "sk": event.attendant.sub, "sub": event.attendant.sub,
            "name": event.attendant.name, "email": event.attendant.email, "org": event.org,
            "unit": event.unit, "enabled": event.enabled, "version": event.version}
    if current is None:
        uow.put(item, new=True)
    else:
        uow.put(item, expect_version=int(current["version"]))
    return True
