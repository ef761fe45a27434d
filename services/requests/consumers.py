"""The requests worker: other contexts' events become timeline entries, the last
activity, and the citizen's verdict. Each event is applied once (``apply_once``)."""

from __future__ import annotations

import logging

from services.requests import store
from services.requests.model import Doc, person
from shared import messages as m
from shared.clock import iso
from shared.consumer import Effect
from shared.context import ServiceContext
from shared.logs import log as log_fields
from shared.outbox import UnitOfWork

log = logging.getLogger("atende.requests.worker")


def _data(event: m.Event) -> tuple[m.Party | None, Doc]:
    """Who acted and what the timeline shows: ids and facts, never message or comment
    texts, tokens or a guest's e-mail."""
    if isinstance(event, m.FollowupPosted):
        return event.author, {"followup_id": event.followup_id,
                              "author_role": event.author_role,
                              "attachments": event.attachments}
    if isinstance(event, m.MeetingEvent):
        data: Doc = {"meeting_id": event.meeting_id, "subject": event.subject,
                     "starts_at": iso(event.starts_at), "ends_at": iso(event.ends_at)}
        if isinstance(event, m.MeetingRescheduled) and event.previous_starts_at:
            data["previous_starts_at"] = iso(event.previous_starts_at)
        if isinstance(event, m.GuestInvited):
            data["guest"] = event.guest.name
        if isinstance(event, m.MeetingJoined):
            data |= {"participant": event.participant.name, "role": event.role}
        return event.actor, data
    if isinstance(event, m.ReviewSubmitted):
        return event.citizen, {"review_id": event.review_id, "verdict": event.verdict,
                               "rating": event.rating}
    if isinstance(event, m.ReviewModerated):
        return event.actor, {"review_id": event.review_id, "decision": event.decision}
    raise TypeError(event.type)


def apply(uow: UnitOfWork, event: m.Event) -> None:
    req = store.get_request(uow, event.request_id)
    if req is None:
        # Requests are born here, so an unknown id will never appear: nothing to wait for.
        log_fields(log, "event for unknown request ignored", type=event.type,
                   request_id=event.request_id, event_id=event.id)
        return
    actor, data = _data(event)
    entry = {"at": iso(event.occurred_at), "type": event.type, "data": data,
             "actor": person(actor.model_dump(), citizen=req.is_citizen(actor.sub))
             if actor else None, "event_id": event.id}
    req.note_activity(entry, event.occurred_at)
    if isinstance(event, m.ReviewSubmitted):
        req.set_verdict(event.verdict, event.occurred_at)  # on the panel too
        store.save_request(uow, req)
    else:
        store.save_activity(uow, req)


def effect(ctx: ServiceContext) -> Effect:
    """The other contexts' events, as the contract names them."""
    return apply
