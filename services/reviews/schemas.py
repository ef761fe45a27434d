"""Request and response bodies of the reviews API."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import ConfigDict, Field, StringConstraints, field_validator

from services.reviews.model import Review, ServiceStats
from shared.model import Model

Rating = Annotated[int, Field(strict=True, ge=1, le=5)]


class ReviewIn(Model):
    model_config = ConfigDict(extra="forbid")

    verdict: Literal["approved", "rejected"]
    rating: Rating | None = None
    comment: Annotated[str, Field(strict=True, max_length=2000)] | None = None

    @field_validator("comment")
    @classmethod
    def blank_is_none(cls, value: str | None) -> str | None:
        # A blank comment is no comment: there is nothing to screen or moderate.
        return (value.strip() or None) if value is not None else None


class ModerationIn(Model):
    model_config = ConfigDict(extra="forbid")

    decision: Literal["approve", "reject"]
    reason: Annotated[str, StringConstraints(strict=True, max_length=500)] | None = None


class ReviewOut(Model):
    id: str
    request_id: str
    service_id: str
    verdict: Literal["approved", "rejected"]
    rating: int | None
    comment: str | None
    moderation: Literal["screening", "pending", "flagged", "approved", "rejected"] | None
    flags: list[str]
    created_at: datetime
    # The comment with personal data replaced by placeholders, once screened.
    redacted_comment: str | None = None

    @classmethod
    def of(cls, r: Review) -> ReviewOut:
        return cls(id=r.id, request_id=r.request_id, service_id=r.service_id,
                   verdict=r.verdict, rating=r.rating, comment=r.comment,
                   moderation=r.moderation, flags=r.flags, created_at=r.created_at,
                   redacted_comment=r.redacted_comment)


class ReviewPage(Model):
    items: list[ReviewOut]
    next_cursor: str | None


class PublishedReview(Model):
    id: str
    service_id: str
    author: str | None  # the first name only, or nothing
    verdict: Literal["approved", "rejected"]
    rating: int | None
    comment: str | None
    created_at: datetime

    @classmethod
    def of(cls, r: Review) -> PublishedReview:
        return cls(id=r.id, service_id=r.service_id, author=r.author_first_name,
                   verdict=r.verdict, rating=r.rating, comment=r.published_comment,
                   created_at=r.created_at)


class PublishedPage(Model):
    items: list[PublishedReview]
    next_cursor: str | None
    count: int
    average_rating: float | None
    approval_rate: float | None

    @classmethod
    def of(cls, items: list[PublishedReview], next_cursor: str | None,
           stats: ServiceStats) -> PublishedPage:
        return cls(items=items, next_cursor=next_cursor, count=stats.count,
                   average_rating=stats.average_rating, approval_rate=stats.approval_rate)
