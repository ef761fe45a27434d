"""Workers: the request events this service keeps a projection of, and the screening job
it sends itself through the outbox."""

from __future__ import annotations

from typing import Any

import dramatiq

from services.reviews import handlers
from shared.consumer import apply_once
from shared.http import ServiceContext
from shared.messages import Event, RequestEvent, RosterChanged
from shared.outbox import UnitOfWork
from shared.service import EventHandler
from shared.tables import ConditionFailed

CONSUMER = "reviews"


def handle_event(ctx: ServiceContext, doc: dict[str, Any]) -> bool:
    """Apply one delivered event; True if it changed anything."""
    event = Event.parse(doc)
    if not isinstance(event, RequestEvent | RosterChanged):
        return False  # not ours to know about

    def effect(uow: UnitOfWork, e: Event) -> None:
        if isinstance(e, RosterChanged):
            handlers.apply_roster_event(uow, e)
        else:
            assert isinstance(e, RequestEvent)
            handlers.apply_request_event(uow, e)

    return apply_once(ctx.uow, CONSUMER, event, effect)


def on_event(ctx: ServiceContext) -> EventHandler:
    def reviews_on_event(doc: dict[str, Any]) -> None:
        handle_event(ctx, doc)

    return reviews_on_event


def run_screening(ctx: ServiceContext, payload: dict[str, Any]) -> bool:
    """The screening job; safe to run twice: only a review awaiting screening changes."""
    for _ in range(3):
        with ctx.uow() as uow:
            if not handlers.screen_review(uow, str(payload["review_id"]), ctx.clock):
                return False
            try:
                uow.commit()
            except ConditionFailed:
                continue  # screened concurrently: look again
            return True
    raise ConditionFailed()  # let the broker retry later


def declare_actors(broker: dramatiq.Broker, ctx: ServiceContext) -> None:
    def reviews_screen(payload: dict[str, Any]) -> None:
        run_screening(ctx, payload)

    s = ctx.settings
    dramatiq.actor(reviews_screen, broker=broker, actor_name=handlers.SCREEN_ACTOR,
                   queue_name="reviews-events", max_retries=s.max_retries,
                   min_backoff=s.min_backoff_ms, max_backoff=s.max_backoff_ms)
