"""A service's own copy of a request, kept from the requests events it consumes, and who
may see it. Followups and meetings decide access from it; each adds its own rules."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import orjson

from shared.errors import NotFound, ValidationFailed
from shared.identity import Principal
from shared.messages import Party, RequestSnapshot
from shared.roster import entry_keys, require_enabled
from shared.tables import Item, Page, ReadItems, Table

VIEW_SK = "VIEW"


@dataclass
class RequestView:
    """What a service knows of a request, from the newest request event seen."""

    id: str
    snapshot: RequestSnapshot

    @property
    def version(self) -> int:
        return self.snapshot.version

    @property
    def citizen(self) -> Party:
        return self.snapshot.citizen

    @property
    def assignee(self) -> Party | None:
        return self.snapshot.assignee

    def is_assignee(self, who: Principal) -> bool:
        return self.assignee is not None and self.assignee.sub == who.sub

    def visible_to(self, who: Principal) -> bool:
        s = self.snapshot
        if who.sub == s.citizen.sub or self.is_assignee(who):
            return True
        if not who.is_staff or who.org != s.org:
            return False
        return who.has("registrar") or (who.has("attendant") and who.unit == s.unit)

    def check_visible(self, who: Principal) -> None:
        if not self.visible_to(who):
            raise NotFound("request not found")


V = TypeVar("V", bound=RequestView)
T = TypeVar("T")


Keys = list[tuple[str, str]]


def page_with_view(table: Table, who: Principal, cursor: str | None,
                   together: Callable[[Keys], tuple[tuple[V, list[T]] | None,
                                                    list[Item | None]]],
                   apart: Callable[[Principal], tuple[V, tuple[list[T], str | None]]]
                   ) -> tuple[Principal, V, list[T], str | None]:
    """A page of a request's items with the view that says who may see them, and the
    caller as the roster lets them act. A first page comes with its view and the caller's
    roster entry in one read (``together``, given the entry's keys: None for the page
    where one read does not hold both); any other page, ``apart``, checks the view before
    reading the items."""
    keys = entry_keys(who)
    both, found = together(keys) if cursor is None else (None, None)
    who = require_enabled(who, table if found is None else ReadItems(keys, found))
    if both is not None:
        view, items = both
        view.check_visible(who)
        return who, view, items, None
    view, (items, next_cursor) = apart(who)
    return who, view, items, next_cursor


def load_view(reader: Any, pk: str, request_id: str, cls: type[V]) -> V | None:
    """``reader``: anything with ``get(pk, sk)`` (a table or a unit of work)."""
    item = reader.get(pk, VIEW_SK)
    if item is None:
        return None
    return view_of(item, request_id, cls)


def view_of(item: Any, request_id: str, cls: type[V]) -> V:
    """The view that ``item``, the partition's ``VIEW`` item, holds."""
    return cls(request_id, _snapshot(orjson.dumps(item["request"])))


@functools.lru_cache(maxsize=2048)
def _snapshot(doc: bytes) -> RequestSnapshot:
    """A stored snapshot's model, kept by its JSON: validating it cost ten times writing
    the JSON again, and every read of a view (each service's detail, list and command)
    validated it. The model is frozen (its parties too), so one value serves every
    reader; what a table holds is read every time, only equal JSON shares a model."""
    return RequestSnapshot.model_validate_json(doc)


def store_view(uow: Any, pk: str, view: RequestView, previous: RequestView | None) -> None:
    """Versioned on the request's own version, so a concurrent older event cannot win."""
    item = {"pk": pk, "sk": VIEW_SK, "version": view.version,
            "request": view.snapshot.model_dump(mode="json")}
    if previous is None:
        uow.put(item, new=True)
    else:
        uow.put(item, expect_version=previous.version)


def query_page(table: Table, pk: str, **kwargs: Any) -> Page:
    try:
        return table.query(pk, **kwargs)
    except ValueError as exc:  # a cursor that is not one of ours
        raise ValidationFailed.field("cursor", "invalid cursor") from exc
