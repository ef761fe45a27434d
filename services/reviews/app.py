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
              body=ReviewIn, response=ReviewOut, status=201,
              errors=("forbidden", "invalid_transition", "already_reviewed", "view_behind"),
              example={"verdict": "approved", "rating": 5, "comment": "Muito bom."},
              description="Once the request is `concluded`, once only. `verdict` is "
              "`approved` or `rejected`, `rating` 1 to 5, `comment` up to 2,000 characters; "
              "a comment is screened for personal data and offensive words before "
              "moderation. Right after the conclusion the service waits (bounded) for it; "
              "with If-Match, 409 view_behind when the wait runs out."),
    Operation("GET", "/reviews", "The moderation queue (staff of the org)",
              response=ReviewPage, query=("moderation", "service_id", "limit", "cursor"),
              errors=("forbidden", "attendant_not_enabled"),
              description="Oldest first; `moderation` is screening, pending, flagged, "
              "approved or rejected."),
    Operation("POST", "/reviews/{review_id}/moderation",
              "Approve or reject a review's comment (an attendant of the service's unit)",
              body=ModerationIn, response=ReviewOut,
              errors=("forbidden", "attendant_not_enabled", "conflict_of_interest"),
              example={"decision": "approve"},
              description="`decision` is `approve` or `reject`, with an optional reason."),
    Operation("GET", "/reviews/published", "Approved comments and a service's ratings",
              auth="public", response=PublishedPage, query=("service_id", "limit", "cursor"),
              required_query=("service_id",),
              description="Public. Approved comments only, the author by first name; "
              "`count`, `average_rating` and `approval_rate` over every review of the "
              "service (verdicts and ratings are not moderated, comments are)."),
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
