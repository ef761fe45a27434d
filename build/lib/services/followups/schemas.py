"""Request and response bodies of the follow-ups and notifications API."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, StringConstraints

from services.followups.model import Followup

MAX_BODY = 5000
Body = Annotated[str, StringConstraints(strict=True, strip_whitespace=True, min_length=1,
                                        max_length=MAX_BODY)]


class FollowupIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    body: Body


class Author(BaseModel):
    sub: str
    name: str
    role: Literal["citizen", "attendant"]


class AttachmentOut(BaseModel):
    id: str
    filename: str
    content_type: str
    size: int


class FollowupOut(BaseModel):
    id: str
    request_id: str
    author: Author
    body: str
    attachments: list[AttachmentOut]
    created_at: datetime

    @classmethod
    def of(cls, f: Followup) -> FollowupOut:
        return cls(
            id=f.id, request_id=f.request_id,
            author=Author(sub=f.author.sub, name=f.author.name, role=f.author_role),
            body=f.body,
            attachments=[AttachmentOut(id=a.id, filename=a.filename,
                                       content_type=a.content_type, size=a.size)
                         for a in f.attachments],
            created_at=f.created_at)


class FollowupPage(BaseModel):
    items: list[FollowupOut]
    next_cursor: str | None


class NotificationOut(BaseModel):
    id: str
    kind: str
    request_id: str
    title: str
    body: str
    created_at: datetime
    read: bool


class NotificationPage(BaseModel):
    items: list[NotificationOut]
    next_cursor: str | None
