"""Read your own writes across services.

A service learns of a request's changes from the requests service's events, a little after
the requests service has answered. A client that follows one command with another the first
made possible (a follow-up right after the approval) may reach a service whose view of the
request is still the older one. ``run_fresh`` runs such a command so that it does not fail
for that reason:

- With ``If-Match: "<version>"`` (the request's ``ETag`` the client saw), the command waits,
  for a bounded time, until the service's view has reached that version, then runs once; if
  the bound passes first, 409 ``view_behind`` with ``Retry-After``.
- Without it, a refusal that a newer view could lift (the view missing, the request in an
  earlier state, the caller not (yet) its assignee) waits for the view to change and runs
  the command again, until the bound; a refusal that no later event can lift (a finished
  request, a bad body) is answered at once.

Waiting is polling the service's own view item: a service reads only its own table.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import falcon
from pydantic import BaseModel

from shared.context import ServiceContext
from shared.errors import (
    AttendantNotEnabled,
    DomainError,
    Forbidden,
    InvalidTransition,
    NotFound,
    ViewBehind,
)
from shared.http import expected_version, run_command
from shared.outbox import UnitOfWork
from shared.projection import VIEW_SK
from shared.tables import Item, Table

# States after which no request event can make a refused command possible.
FINAL = frozenset({"rejected", "concluded"})
_FIRST_POLL, _MAX_POLL = 0.002, 0.05


def view_state(table: Table, pk: str) -> tuple[int, str] | None:
    """(version, status) of the service's view of a request, or None if it has none yet."""
    return _state_of(table.get(pk, VIEW_SK))


def _state_of(item: Item | None) -> tuple[int, str] | None:
    if item is None:
        return None
    return int(item["version"]), str(item["request"].get("status", ""))


def may_catch_up(exc: DomainError, state: tuple[int, str] | None) -> bool:
    """Whether a newer view of the request could lift this refusal."""
    if state is None:
        return isinstance(exc, NotFound)
    status = state[1]
    if status in FINAL:
        return False
    if isinstance(exc, InvalidTransition):
        return True
    # The assignee changes by reassignment, and a roster entry by enrolment, while the
    # request is in service; a refusal of the caller may be one of those not yet seen.
    return isinstance(exc, Forbidden) and status == "in_service"


def wait_until(check: Callable[[], bool], deadline: float) -> bool:
    """Poll ``check`` (briefly at first: a view is usually a few ms behind) until it holds
    or ``deadline`` (monotonic) passes."""
    pause = _FIRST_POLL
    while True:
        if check():
            return True
        left = deadline - time.monotonic()
        if left <= 0:
            return False
        time.sleep(min(pause, left))
        pause = min(pause * 2, _MAX_POLL)


def run_fresh(ctx: ServiceContext[Any], req: falcon.Request, resp: falcon.Response,
              command: Callable[[UnitOfWork], BaseModel | dict[str, Any]], *, view_pk: str,
              **options: Any) -> None:
    """``run_command`` for a command on a request this service knows from events."""
    table = ctx.table
    bound = ctx.settings.view_wait_seconds
    deadline = time.monotonic() + bound
    wanted = expected_version(req).newest
    if wanted is not None:
        def caught_up() -> bool:
            state = view_state(table, view_pk)
            return state is not None and state[0] >= wanted

        if not wait_until(caught_up, deadline):
            raise ViewBehind(
                f"this service has not yet seen version {wanted} of the request; "
                f"retry shortly", retry_after=max(1, round(bound)))
    runs: list[UnitOfWork] = []

    def tracked(uow: UnitOfWork) -> BaseModel | dict[str, Any]:
        runs.append(uow)
        return command(uow)

    while True:
        runs.clear()
        try:
            run_command(ctx, req, resp, tracked, **options)
            return
        except AttendantNotEnabled:
            # The roster reaches this service as events too: an attendant enrolled a moment
            # ago may not be in its copy yet. Nothing in the request's view tells when it
            # arrives, so try again shortly, within the same bound.
            if not _pause_until(deadline):
                raise
        except DomainError as exc:
            if wanted is not None:
                raise
            # The view the refused command saw (read once, by the command itself); read
            # now if the command was refused before it looked.
            key = (view_pk, VIEW_SK)
            last = runs[-1].read if runs else {}
            seen = _state_of(last[key]) if key in last else view_state(table, view_pk)
            if not may_catch_up(exc, seen):
                raise
            if not wait_until(_changed(table, view_pk, seen), deadline):
                raise


def _changed(table: Table, view_pk: str, seen: tuple[int, str] | None) -> Callable[[], bool]:
    """Whether the service's view of the request moved on from what it was."""
    return lambda: view_state(table, view_pk) != seen


def _pause_until(deadline: float) -> bool:
    """Sleep a poll's length, or False if the deadline has passed."""
    left = deadline - time.monotonic()
    if left <= 0:
        return False
    time.sleep(min(_MAX_POLL, left))
    return True
