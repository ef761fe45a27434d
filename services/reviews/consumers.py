"""Workers: the request events this service keeps a projection of, and the screening job
it sends itself through the outbox."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from services.reviews import handlers
from shared.consumer import Effect
from shared.context import ServiceContext
from shared.messages import Event, RequestEvent, RosterChanged
from shared.outbox import UnitOfWork
from shared.tables import ConditionFailed
from shared.topology import queue_of

if TYPE_CHECKING:  # the broker is built, and Dramatiq loaded, where actors are declared
    import dramatiq


def apply(ctx: ServiceContext) -> Effect:
    """Request events (which requests are concluded, by whom, for whom) and the roster's."""

    def effect(uow: UnitOfWork, event: Event) -> None:
        if isinstance(event, RosterChanged):
            handlers.apply_roster_event(uow, event)
        elif isinstance(event, RequestEvent):
            handlers.apply_request_event(uow, event)

    return effect


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
    from shared.broker import declare_job

    def reviews_screen(payload: dict[str, Any]) -> None:
        run_screening(ctx, payload)

    declare_job(broker, reviews_screen, actor_name=handlers.SCREEN_ACTOR,
                queue_name=queue_of("reviews"), settings=ctx.settings)
