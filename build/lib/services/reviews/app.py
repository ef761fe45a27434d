"""The reviews service: citizens' verdicts and reviews, screening, moderation and the
published ratings."""

from __future__ import annotations

import falcon

from services.reviews import consumers, resources
from services.reviews.contract import CONTRACT, OPERATIONS
from shared.context import ServiceContext
from shared.http import create_app
from shared.service import ServiceDef


def build_app(ctx: ServiceContext) -> falcon.App:
    routes: dict[str, object] = {
        "/requests/{request_id}/review": resources.RequestReview(ctx),
        "/reviews": resources.ModerationQueue(ctx),
        "/reviews/{review_id}/moderation": resources.ReviewModeration(ctx),
        "/reviews/published": resources.PublishedReviews(ctx),
    }
    return create_app(ctx, routes, OPERATIONS, title="Atende reviews")


SERVICE = ServiceDef(CONTRACT, build_app, apply=consumers.apply,
                     actors=consumers.declare_actors)
