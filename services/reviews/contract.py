"""The reviews service's contract: verdicts, reviews, screening, moderation, ratings."""

from __future__ import annotations

from services.reviews.schemas import ModerationIn, PublishedPage, ReviewIn, ReviewOut, ReviewPage
from shared.contract import Contract, Operation

SCREEN_ACTOR = "reviews_screen"

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

# What the requests service tells about a request (by name: no service imports another).
REQUEST_EVENTS = ("RequestSubmitted", "AnalysisStarted", "StepChecked", "RequestRejected",
                  "RequestApproved", "RequestReassigned", "RequestConcluded")

CONTRACT = Contract(
    name="reviews",
    operations=tuple(OPERATIONS),
    publishes=("ReviewSubmitted", "ReviewModerated"),
    consumes=(*REQUEST_EVENTS, "RosterChanged"),
    jobs=(SCREEN_ACTOR,),
)
