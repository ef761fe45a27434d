"""Workers: every event the topology sends this service (the request projection and who is
told what), and the mail job the service sends itself through the outbox."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from services.followups import handlers, repository
from services.followups.contract import CONTRACT
from services.followups.deps import FollowupsDeps
from services.followups.notifications import MAIL_ACTOR
from shared.consumer import Effect
from shared.context import ServiceContext
from shared.logs import log as log_fields
from shared.mail import Mail
from shared.tables import ConditionFailed
from shared.topology import queue_of_job

if TYPE_CHECKING:  # the broker is built, and Dramatiq loaded, where actors are declared
    import dramatiq

log = logging.getLogger("atende.followups.worker")


def apply(ctx: ServiceContext) -> Effect:
    """Every event the contract names: the request projection and who is told what."""
    link = console_link(ctx.settings.console_url)
    return lambda uow, event: handlers.apply_event(uow, event, link=link)


def console_link(console_url: str | None) -> str | None:
    """Where a mail sends its reader: the console's page of the request (``{id}``)."""
    return f"{console_url.rstrip('/')}/console/solicitacao/{{id}}" if console_url else None


def send_mail(ctx: ServiceContext[FollowupsDeps], payload: dict[str, Any]) -> bool:
    """The mail job. A failure raises, so the broker retries with backoff and finally
    dead-letters it; the in-app notification was committed before and stays. A job run
    again after its mail went out (a redelivery) sends nothing."""
    note_id = str(payload["notification_id"])
    # One read of the notification: what to send, whether it went, and the version the
    # record of its sending is conditioned on.
    note = repository.get_note(ctx.table, note_id)
    if note is not None and note.get("mailed_at"):
        return False
    # A job queued by an older version carried the mail itself.
    mail = payload if "to" in payload else handlers.pending_mail(note)
    if mail is None:
        return False
    ctx.deps.mailer.send(Mail(to=mail["to"], subject=mail["subject"], text=mail["text"],
                              html=mail.get("html")))
    log_fields(log, "mail sent", notification_id=note_id)
    for _ in range(5):
        with ctx.uow() as uow:
            handlers.mark_mailed(uow, note, ctx.clock)
            try:
                uow.commit()
                return True
            except ConditionFailed:
                note = repository.get_note(ctx.table, note_id)  # changed since: look again
    return True  # sent; only the bookkeeping lost its races


def declare_actors(broker: dramatiq.Broker, ctx: ServiceContext) -> None:
    from shared.broker import declare_job

    def followups_send_mail(payload: dict[str, Any]) -> None:
        send_mail(ctx, payload)

    declare_job(broker, followups_send_mail, actor_name=MAIL_ACTOR,
                queue_name=queue_of_job(CONTRACT, MAIL_ACTOR), settings=ctx.settings)
