"""The reviews service's contract: verdicts, reviews, screening, moderation, ratings."""

from __future__ import annotations

from services.reviews.model import MODERATION_STATES, AlreadyReviewed
from services.reviews.schemas import ModerationIn, PublishedPage, ReviewIn, ReviewOut, ReviewPage
from shared.contract import PAGE, Contract, Operation, Query
from shared.messages import REQUEST_EVENTS

SCREEN_ACTOR = "reviews_screen"

_SERVICE_ID = "a catalog service's id"

OPERATIONS = [
    Operation("POST", "/requests/{request_id}/review", "Review a concluded request (its citizen)",
              body=ReviewIn, response=ReviewOut, status=201,
              errors=("forbidden", "invalid_transition", AlreadyReviewed, "view_behind"),
              example={"verdict": "approved", "rating": 5, "comment": "Muito bom."},
              description="Once the request is `concluded`, once only. `verdict` is "
              "`approved` or `rejected`, `rating` 1 to 5, `comment` up to 2,000 characters; "
              "a comment is screened for personal data and offensive words before "
              "moderation. Right after the conclusion the service waits (bounded) for it; "
              "with If-Match, 409 view_behind when the wait runs out."),
    Operation("GET", "/reviews", "The moderation queue (staff of the org)",
              response=ReviewPage,
              query=(Query("moderation", "only reviews in this moderation state",
                           {"type": "string", "enum": list(MODERATION_STATES)}),
                     Query("service_id", _SERVICE_ID), *PAGE),
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
              auth="public", response=PublishedPage,
              query=(Query("service_id", _SERVICE_ID, required=True), *PAGE),
              description="Public. Approved comments only, the author by first name; "
              "`count`, `average_rating` and `approval_rate` over every review of the "
              "service (verdicts and ratings are not moderated, comments are)."),
]


CONTRACT = Contract(
    name="reviews",
    operations=tuple(OPERATIONS),
    publishes=("ReviewSubmitted", "ReviewModerated"),
    consumes=(*REQUEST_EVENTS, "RosterChanged"),
    jobs=(SCREEN_ACTOR,),
)
