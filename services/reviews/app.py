"""The reviews service: citizens' verdicts and reviews, screening, moderation and the
published ratings."""

from __future__ import annotations

from typing import TYPE_CHECKING

from services.reviews import consumers, repository
from services.reviews.contract import CONTRACT, OPERATIONS
from shared.context import ServiceContext
from shared.service import ServiceDef

if TYPE_CHECKING:
    import falcon


def build_app(ctx: ServiceContext) -> falcon.App:
    # The HTTP side is imported where it is built: a worker never loads it.
    from services.reviews import resources
    from shared.http import create_app

    routes: dict[str, object] = {
        "/requests/{request_id}/review": resources.RequestReview(ctx),
        "/reviews": resources.ModerationQueue(ctx),
        "/reviews/{review_id}/moderation": resources.ReviewModeration(ctx),
        "/reviews/published": resources.PublishedReviews(ctx),
    }
    return create_app(ctx, routes, OPERATIONS, title="Atende reviews")


SERVICE = ServiceDef(CONTRACT, build_app, apply=consumers.apply, reads=repository.event_reads,
                     actors=consumers.declare_actors)
