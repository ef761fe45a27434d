"""The index of pending reminders by due time (gsi1, partition REMINDER): what a
scheduler tick reads first, without the meetings' model."""

from __future__ import annotations

from datetime import datetime

from shared.clock import iso
from shared.tables import Page, Table

REMINDER_INDEX = "REMINDER"


def due_reminders(table: Table, now: datetime, limit: int, cursor: str | None) -> Page:
    return table.query(REMINDER_INDEX, index="gsi1", end=f"{iso(now)}#\uffff", limit=limit,
                       cursor=cursor)
