"""Workers: the request events (this service's projection) and the invitation mail the
service sends itself through the outbox; plus what ServiceDef needs to wire them."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

import dramatiq

from services.meetings import handlers, reminders
from services.meetings import repository as repo
from services.meetings.invites import InviteTokens, invitation, invites_from
from services.meetings.rooms import rooms_from
from shared.clock import iso
from shared.consumer import apply_once
from shared.http import ServiceContext
from shared.identity import shown_name
from shared.logs import log as log_fields
from shared.mail import Mailer, mailer_from
from shared.messages import Event
from shared.outbox import UnitOfWork
from shared.service import EventHandler
from shared.tables import ConditionFailed

log = logging.getLogger("atende.meetings.worker")
CONSUMER = "meetings"


def handle_event(ctx: ServiceContext, doc: dict[str, Any]) -> bool:
    """Apply one delivered event; True if this delivery was the one applied."""
    event = Event.parse(doc)

    def effect(uow: UnitOfWork, e: Event) -> None:
        result = handlers.apply_event(uow, e, ctx.clock)
        log_fields(log, "event applied", type=e.type, event_id=e.id,
                   request_id=e.request_id, **result)

    return apply_once(ctx.uow, CONSUMER, event, effect)


def on_event(ctx: ServiceContext) -> EventHandler:
    def meetings_on_event(doc: dict[str, Any]) -> None:
        handle_event(ctx, doc)

    return meetings_on_event


def send_invite(ctx: ServiceContext, payload: dict[str, Any]) -> bool:
    """The invitation job. A failure raises, so the broker retries with backoff and
    finally dead-letters it; a redelivery after the mail went out sends nothing."""
    guest = repo.get_guest(ctx.table, str(payload["guest_id"]))
    if guest is None or guest.get("mailed_at"):
        return False
    meeting = repo.get_meeting(ctx.table, guest["request_id"], guest["meeting_id"])
    if meeting is None or meeting.status != "scheduled":
        return False
    tokens: InviteTokens = ctx.extras["invites"]
    mailer: Mailer = ctx.extras["mailer"]
    mailer.send(invitation(to=guest["email"], guest_name=guest["name"],
                           attendant=shown_name(meeting.attendant.name, meeting.attendant.sub,
                                                citizen=False),
                           subject=meeting.subject,
                           starts_at=meeting.starts_at, ends_at=meeting.ends_at,
                           token=tokens.token(guest["id"])))
    log_fields(log, "invitation sent", meeting_id=meeting.id, guest_id=guest["id"])
    for _ in range(5):
        with ctx.uow() as uow:
            current = repo.get_guest(uow, guest["id"])
            if current is None or current.get("mailed_at"):
                return True
            uow.save({**current, "mailed_at": iso(ctx.clock.now()),
                      "version": current["version"] + 1})
            try:
                uow.commit()
                return True
            except ConditionFailed:
                continue
    return True  # sent; only the bookkeeping lost its races


def setup(ctx: ServiceContext) -> None:
    ctx.extras.setdefault("rooms", rooms_from(ctx.settings))
    ctx.extras.setdefault("invites", invites_from(ctx.settings))
    ctx.extras.setdefault("mailer", mailer_from(ctx.settings))


def declare_actors(broker: dramatiq.Broker, ctx: ServiceContext) -> None:
    def meetings_send_invite(payload: dict[str, Any]) -> None:
        send_invite(ctx, payload)

    s = ctx.settings
    dramatiq.actor(meetings_send_invite, broker=broker, actor_name=handlers.INVITE_ACTOR,
                   queue_name="meetings-events", max_retries=s.max_retries,
                   min_backoff=s.min_backoff_ms, max_backoff=s.max_backoff_ms)


def periodic(ctx: ServiceContext) -> Sequence[Callable[[], None]]:
    def meetings_reminders() -> None:
        reminders.tick(ctx)

    return [meetings_reminders]

