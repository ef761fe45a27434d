"""The reviews service: citizens' verdicts and reviews, screening, moderation and the
published ratings."""

from __future__ import annotations

import falcon

from services.reviews import consumers, resources
from services.reviews.schemas import ModerationIn, PublishedPage, ReviewIn, ReviewOut, ReviewPage
from shared.http import Operation, ServiceContext, create_app
from shared.service import ServiceDef

OPERATIONS = [
    Operation("POST", "/requests/{request_id}/review", "Review a concluded request (its citizen)",
              body=ReviewIn, response=ReviewOut, status=201),
    Operation("GET", "/reviews", "The moderation queue (staff of the org)",
              response=ReviewPage, query=("moderation", "service_id", "limit", "cursor")),
    Operation("POST", "/reviews/{review_id}/moderation",
              "Approve or reject a review's comment (an attendant of the service's unit)",
              body=ModerationIn, response=ReviewOut),
    Operation("GET", "/reviews/published", "Approved comments and a service's ratings",
              auth="public", response=PublishedPage, query=("service_id", "limit", "cursor")),
]


def build_app(ctx: ServiceContext) -> falcon.App:
    routes: dict[str, object] = {
        "/requests/{request_id}/review": resources.RequestReview(ctx),
        "/reviews": resources.ModerationQueue(ctx),
        "/reviews/{review_id}/moderation": resources.ReviewModeration(ctx),
        "/reviews/published": resources.PublishedReviews(ctx),
    }
    return create_app(ctx, routes, OPERATIONS, title="Atende reviews")


SERVICE = ServiceDef(name="reviews", operations=OPERATIONS, create_app=build_app,
                     on_event=consumers.on_event, actors=consumers.declare_actors)
