"""Workers: every event the topology sends this service (the request projection and who is
told what), and the mail job the service sends itself through the outbox."""

from __future__ import annotations

import logging
from typing import Any

import dramatiq

from services.followups import handlers
from services.followups.notifications import MAIL_ACTOR
from shared.consumer import apply_once
from shared.http import ServiceContext
from shared.logs import log as log_fields
from shared.mail import Mail, Mailer, mailer_from
from shared.messages import Event
from shared.outbox import UnitOfWork
from shared.service import EventHandler
from shared.tables import ConditionFailed

log = logging.getLogger("atende.followups.worker")
CONSUMER = "followups"


def handle_event(ctx: ServiceContext, doc: dict[str, Any]) -> bool:
    """Apply one delivered event; True if this delivery was the one applied."""
    event = Event.parse(doc)

    def effect(uow: UnitOfWork, e: Event) -> None:
        result = handlers.apply_event(uow, e)
        log_fields(log, "event applied", type=e.type, event_id=e.id,
                   request_id=e.request_id, **result)

    return apply_once(ctx.uow, CONSUMER, event, effect)


def on_event(ctx: ServiceContext) -> EventHandler:
    def followups_on_event(doc: dict[str, Any]) -> None:
        handle_event(ctx, doc)

    return followups_on_event


def send_mail(ctx: ServiceContext, payload: dict[str, Any]) -> bool:
    """The mail job. A failure raises, so the broker retries with backoff and finally
    dead-letters it; the in-app notification was committed before and stays. A job run
    again after its mail went out (a redelivery) sends nothing."""
    note_id = str(payload["notification_id"])
    # A job queued by an older version carried the mail itself.
    mail = payload if "to" in payload else handlers.pending_mail(ctx.table, note_id)
    if mail is None or handlers.already_mailed(ctx.table, note_id):
        return False
    mailer: Mailer = ctx.extras["mailer"]
    mailer.send(Mail(to=mail["to"], subject=mail["subject"], text=mail["text"],
                     html=mail.get("html")))
    log_fields(log, "mail sent", notification_id=note_id)
    for _ in range(5):
        with ctx.uow() as uow:
            handlers.mark_mailed(uow, note_id, ctx.clock)
            try:
                uow.commit()
                return True
            except ConditionFailed:
                continue  # read at the same moment: look again
    return True  # sent; only the bookkeeping lost its races


def setup(ctx: ServiceContext) -> None:
    ctx.extras.setdefault("mailer", mailer_from(ctx.settings))


def declare_actors(broker: dramatiq.Broker, ctx: ServiceContext) -> None:
    def followups_send_mail(payload: dict[str, Any]) -> None:
        send_mail(ctx, payload)

    s = ctx.settings
    dramatiq.actor(followups_send_mail, broker=broker, actor_name=MAIL_ACTOR,
                   queue_name="followups-events", max_retries=s.max_retries,
                   min_backoff=s.min_backoff_ms, max_backoff=s.max_backoff_ms)
