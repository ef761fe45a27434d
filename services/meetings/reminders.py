"""The scheduler tick: fire the reminders that are due.

Reminders are items in the store, indexed by due time, so they outlive any restart and
need no broker delay. Each one fires in its own transaction that deletes it (conditioned
on the version read) and publishes MeetingReminderDue: of two racing ticks, one sends it.
When it fires it looks at the meeting again: a cancelled or already-ended meeting gets
nothing, and a moved one has had its reminder replaced, so the stale time never fires.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from services.meetings.reminder_index import due_reminders
from shared.clock import Clock, parse
from shared.context import ServiceContext
from shared.logs import log as log_fields
from shared.tables import ConditionFailed, Item

if TYPE_CHECKING:
    from shared.outbox import UnitOfWork

log = logging.getLogger("atende.meetings.reminders")
PAGE = 100
MAX_PAGES = 20  # per tick; whatever is left waits for the next one


def fire(uow: UnitOfWork, found: Item, clock: Clock) -> bool:
    """Register the effect of one due reminder; True if it is to be sent."""
    # The meetings' model (and the event models) load for a reminder that is due: most
    # ticks find none.
    from services.meetings import repository as repo

    now = clock.now()
    item = repo.get_reminder(uow, found["request_id"], found["meeting_id"])
    if item is None or parse(item["due_at"]) > now:
        return False  # fired by another tick, or moved later since the index was read
    meeting = repo.get_meeting(uow, item["request_id"], item["meeting_id"])
    repo.delete_reminder(uow, item)
    if (meeting is None or meeting.status != "scheduled" or now >= meeting.ends_at
            or parse(item["starts_at"]) != meeting.starts_at):
        return False  # nothing to remind of: only the stale item goes
    repo.check_meeting_unchanged(uow, meeting)
    meeting.remind(repo.get_view(uow, meeting.request_id), now)
    for event in meeting.events:
        uow.publish(event)
    return True


def tick(ctx: ServiceContext) -> int:
    """One pass over the due reminders; how many were sent."""
    sent, cursor = 0, None
    for _ in range(MAX_PAGES):
        page = due_reminders(ctx.table, ctx.clock.now(), PAGE, cursor)
        for found in page.items:
            with ctx.uow() as uow:
                due = fire(uow, found, ctx.clock)
                try:
                    uow.commit()
                except ConditionFailed:
                    continue  # another tick fired it, or the meeting just changed
            if due:
                sent += 1
                log_fields(log, "reminder sent", request_id=found["request_id"],
                           meeting_id=found["meeting_id"])
        cursor = page.next_cursor
        if cursor is None:
            break
    return sent


def periodic(ctx: ServiceContext) -> Sequence[Callable[[], None]]:
    """The service's periodic jobs. The scheduler imports this module alone (infra.services.
    PERIODIC): a tick loads neither the service's HTTP side nor its workers."""
    def meetings_reminders() -> None:
        tick(ctx)

    return [meetings_reminders]
