"""Time as a collaborator, so tests can move it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Protocol

# Brasília time, in which the platform's texts give an instant: Brazil has had no daylight
# saving time since 2019.
BRT = timezone(timedelta(hours=-3), "BRT")


def to_brasilia(at: datetime) -> datetime:
    """An instant on Brasília's clock; a naive one is UTC, as the platform stores it."""
    return (at if at.tzinfo else at.replace(tzinfo=UTC)).astimezone(BRT)


def in_brasilia(at: datetime) -> str:
    """An instant as the texts say it."""
    return to_brasilia(at).strftime("%d/%m/%Y às %H:%M (horário de Brasília)")


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class FrozenClock:
    """A clock that only moves when told to."""

    def __init__(self, at: datetime | None = None) -> None:
        self.at = at or datetime.now(UTC)

    def now(self) -> datetime:
        return self.at

    def advance(self, **delta: float) -> None:
        self.at += timedelta(**delta)


def iso(dt: datetime) -> str:
    """UTC ISO 8601 with an explicit offset and a fixed width, so strings sort as times."""
    return dt.astimezone(UTC).isoformat(timespec="microseconds")


def parse(value: str) -> datetime:
    return datetime.fromisoformat(value)
