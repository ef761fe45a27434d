"""Workers: the request events (this service's projection) and the invitation mail the
service sends itself through the outbox; plus what ServiceDef needs to wire them."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from services.meetings import handlers
from services.meetings import repository as repo
from services.meetings.deps import MeetingsDeps
from services.meetings.invites import invitation
from shared.clock import iso
from shared.consumer import Effect
from shared.context import ServiceContext
from shared.identity import shown_name
from shared.logs import log as log_fields
from shared.messages import Event
from shared.outbox import UnitOfWork
from shared.tables import ConditionFailed
from shared.topology import queue_of

if TYPE_CHECKING:  # the broker is built, and Dramatiq loaded, where actors are declared
    import dramatiq

log = logging.getLogger("atende.meetings.worker")


def apply(ctx: ServiceContext) -> Effect:
    """Request events: who takes part, and meetings cancelled when attendance ends."""

    def effect(uow: UnitOfWork, event: Event) -> dict[str, Any]:
        return handlers.apply_event(uow, event, ctx.clock)

    return effect


def send_invite(ctx: ServiceContext[MeetingsDeps], payload: dict[str, Any]) -> bool:
    """The invitation job. A failure raises, so the broker retries with backoff and
    finally dead-letters it; a redelivery after the mail went out sends nothing."""
    guest = repo.get_guest(ctx.table, str(payload["guest_id"]))
    if guest is None or guest.get("mailed_at"):
        return False
    meeting = repo.get_meeting(ctx.table, guest["request_id"], guest["meeting_id"])
    if meeting is None or meeting.status != "scheduled":
        return False
    tokens, mailer = ctx.deps.invites, ctx.deps.mailer
    mailer.send(invitation(to=guest["email"], guest_name=guest["name"],
                           attendant=shown_name(meeting.attendant.name, meeting.attendant.sub,
                                                citizen=False),
                           subject=meeting.subject,
                           starts_at=meeting.starts_at, ends_at=meeting.ends_at,
                           token=tokens.token(guest["id"]),
                           console_url=ctx.settings.console_url))
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


def declare_actors(broker: dramatiq.Broker, ctx: ServiceContext) -> None:
    from shared.broker import declare_job

    def meetings_send_invite(payload: dict[str, Any]) -> None:
        send_invite(ctx, payload)

    declare_job(broker, meetings_send_invite, actor_name=handlers.INVITE_ACTOR,
                queue_name=queue_of("meetings"), settings=ctx.settings)

