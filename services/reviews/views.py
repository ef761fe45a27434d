"""Read side: the moderation queue and the public page, each one index range scan."""

from __future__ import annotations

from services.reviews import repository
from services.reviews.model import MODERATION_STATES
from services.reviews.schemas import PublishedPage, PublishedReview, ReviewOut, ReviewPage
from shared.errors import Forbidden, ValidationFailed
from shared.identity import Principal
from shared.roster import require_enabled
from shared.tables import Page, Table


def _query(table: Table, pk: str, index: str, *, limit: int, cursor: str | None,
           prefix: str | None = None, forward: bool = True) -> Page:
    try:
        return table.query(pk, index=index, prefix=prefix, forward=forward, limit=limit,
                           cursor=cursor)
    except ValueError as exc:
        raise ValidationFailed.field("cursor", "invalid cursor") from exc


def moderation_queue(table: Table, who: Principal, moderation: str | None,
                     service_id: str | None, limit: int, cursor: str | None) -> ReviewPage:
    """The org's reviews, oldest first (a queue); with ``moderation``, only that state;
    without it, every state, grouped by state."""
    who = require_enabled(who, table)
    if not who.is_staff or who.org is None:
        raise Forbidden("the moderation queue is for staff")
    if moderation is not None and moderation not in MODERATION_STATES:
        raise ValidationFailed.field("moderation", "must be one of "
                                     + ", ".join(MODERATION_STATES))
    pk = repository.queue_pk(who.org, service_id)
    index = "gsi1" if service_id is None else "gsi2"
    prefix = f"{moderation}#" if moderation else None
    page = _query(table, pk, index, prefix=prefix, limit=limit, cursor=cursor)
    items = [ReviewOut.of(repository.review_from_item(i)) for i in page.items]
    return ReviewPage(items=items, next_cursor=page.next_cursor)


def published(table: Table, service_id: str | None, limit: int, cursor: str | None
              ) -> PublishedPage:
    """Approved comments, newest first, with the service's aggregates over every review."""
    if not service_id:
        raise ValidationFailed.field("service_id", "is required")
    page = _query(table, repository.published_pk(service_id), "gsi3", forward=False,
                  limit=limit, cursor=cursor)
    items = [PublishedReview.of(repository.review_from_item(i)) for i in page.items]
    stats = repository.get_stats(table, service_id)
    return PublishedPage.of(items, page.next_cursor, stats)
