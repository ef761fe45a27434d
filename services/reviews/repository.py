"""How the reviews aggregates sit in the service's single table.

    REQUEST#<request id> / VIEW     the projection of the request (version = request version)
    REQUEST#<request id> / REVIEW   the once-only marker: written with must_not_exist
    REVIEW#<review id>   / REVIEW   the review
    STATS#<service id>   / STATS    the service's aggregates (versioned)

Indexes on reviews, so every page is one bounded range scan:
    gsi1  QUEUE#<org>                 <moderation>#<created_at>#<id>   the org's queue
    gsi2  QUEUE#<org>#<service id>    <moderation>#<created_at>#<id>   one service's queue
    gsi3  PUBLISHED#<service id>      <created_at>#<id>                approved comments
"""

from __future__ import annotations

from typing import Any

from services.reviews.model import (
    ModerationDecision,
    RequestView,
    Review,
    ServiceStats,
)
from shared.clock import iso, parse
from shared.messages import Event, Party, RequestEvent
from shared.outbox import UnitOfWork
from shared.projection import load_view, store_view
from shared.tables import Item, Table

Reader = UnitOfWork | Table  # anything with get(pk, sk)


def request_key(request_id: str) -> tuple[str, str]:
    return f"REQUEST#{request_id}", "VIEW"


def marker_key(request_id: str) -> tuple[str, str]:
    return f"REQUEST#{request_id}", "REVIEW"


def review_key(review_id: str) -> tuple[str, str]:
    return f"REVIEW#{review_id}", "REVIEW"


def stats_key(service_id: str) -> tuple[str, str]:
    return f"STATS#{service_id}", "STATS"


def queue_pk(org: str, service_id: str | None = None) -> str:
    return f"QUEUE#{org}" if service_id is None else f"QUEUE#{org}#{service_id}"


def published_pk(service_id: str) -> str:
    return f"PUBLISHED#{service_id}"


# --- request projection ------------------------------------------------------------


def get_view(uow: Reader, request_id: str) -> RequestView | None:
    return load_view(uow, request_key(request_id)[0], request_id, RequestView)


def event_reads(event: Event) -> list[tuple[str, str]]:
    """What the worker's effect of a request event reads (``handlers.apply_request_event``):
    the request's view."""
    return [request_key(event.request_id)] if isinstance(event, RequestEvent) else []


def put_view(uow: UnitOfWork, view: RequestView, previous: RequestView | None) -> None:
    store_view(uow, request_key(view.id)[0], view, previous)


# --- reviews -----------------------------------------------------------------------


def _party(doc: dict[str, Any] | None) -> Party | None:
    return Party.model_validate(doc) if doc else None


def review_to_item(r: Review) -> Item:
    pk, sk = review_key(r.id)
    created = iso(r.created_at)
    item: Item = {
        "pk": pk, "sk": sk, "version": r.version, "id": r.id, "request_id": r.request_id,
        "service_id": r.service_id, "org": r.org, "unit": r.unit,
        "citizen": r.citizen.model_dump(mode="json"),
        "assignee": r.assignee.model_dump(mode="json") if r.assignee else None,
        "verdict": r.verdict, "rating": r.rating, "comment": r.comment,
        "created_at": created, "moderation": r.moderation, "flags": r.flags,
        "redacted_comment": r.redacted_comment,
        "screened_at": iso(r.screened_at) if r.screened_at else None,
        "decision": None,
    }
    if r.decision is not None:
        item["decision"] = {"decision": r.decision.decision,
                            "by": r.decision.by.model_dump(mode="json"),
                            "at": iso(r.decision.at), "reason": r.decision.reason}
    if r.moderation is not None:
        order = f"{r.moderation}#{created}#{r.id}"
        item.update(gsi1pk=queue_pk(r.org), gsi1sk=order,
                    gsi2pk=queue_pk(r.org, r.service_id), gsi2sk=order)
    if r.moderation == "approved":
        item.update(gsi3pk=published_pk(r.service_id), gsi3sk=f"{created}#{r.id}")
    return item


def review_from_item(item: Item) -> Review:
    d = item.get("decision")
    decision = None
    if d:
        decision = ModerationDecision(d["decision"], Party.model_validate(d["by"]),
                                      parse(d["at"]), d.get("reason"))
    citizen = _party(item["citizen"])
    assert citizen is not None
    return Review(
        id=item["id"], request_id=item["request_id"], service_id=item["service_id"],
        org=item["org"], unit=item["unit"], citizen=citizen,
        assignee=_party(item.get("assignee")), verdict=item["verdict"],
        rating=item.get("rating"), comment=item.get("comment"),
        created_at=parse(item["created_at"]), moderation=item.get("moderation"),
        flags=list(item.get("flags") or []), redacted_comment=item.get("redacted_comment"),
        screened_at=parse(item["screened_at"]) if item.get("screened_at") else None,
        decision=decision, version=int(item["version"]),
    )


def get_review(uow: Reader, review_id: str) -> Review | None:
    item = uow.get(*review_key(review_id))
    return review_from_item(item) if item else None


def save_review(uow: UnitOfWork, review: Review) -> None:
    uow.save(review_to_item(review))
    for event in review.events:
        uow.publish(event)
    review.events.clear()


def add_marker(uow: UnitOfWork, review: Review) -> None:
    pk, sk = marker_key(review.request_id)
    # must_not_exist: of two racing submissions only one commits; run_command retries the
    # other, which then finds the marker and answers 409 already_reviewed.
    uow.put({"pk": pk, "sk": sk, "review_id": review.id}, new=True)


# --- stats -------------------------------------------------------------------------


def get_stats(uow: Reader, service_id: str) -> ServiceStats:
    item = uow.get(*stats_key(service_id))
    if item is None:
        return ServiceStats(service_id)
    return ServiceStats(service_id, count=item["count"], approved=item["approved"],
                        rating_count=item["rating_count"], rating_sum=item["rating_sum"],
                        version=item["version"])


def save_stats(uow: UnitOfWork, stats: ServiceStats) -> None:
    pk, sk = stats_key(stats.service_id)
    uow.save({"pk": pk, "sk": sk, "version": stats.version, "service_id": stats.service_id,
              "count": stats.count, "approved": stats.approved,
              "rating_count": stats.rating_count, "rating_sum": stats.rating_sum})
