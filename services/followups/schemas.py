"""Request and response bodies of the follow-ups and notifications API."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import ConfigDict, StringConstraints

from services.followups.model import Followup, RequestView
from shared.identity import Principal
from shared.model import Model
from shared.parties import PartyOut, reads_as_staff, shown

MAX_BODY = 5000
Body = Annotated[str, StringConstraints(strict=True, strip_whitespace=True, min_length=1,
                                        max_length=MAX_BODY)]


class FollowupIn(Model):
    model_config = ConfigDict(extra="forbid")

    body: Body


class Author(PartyOut):
    """``{sub, name, role}``; to a citizen, a staff author is ``{name, role}``."""

    role: Literal["citizen", "attendant"]


class AttachmentOut(Model):
    id: str
    filename: str
    content_type: str
    size: int


class FollowupOut(Model):
    id: str
    request_id: str
    author: Author
    body: str
    attachments: list[AttachmentOut]
    created_at: datetime

    @classmethod
    def of(cls, f: Followup, view: RequestView, reader: Principal) -> FollowupOut:
        """``f`` as ``reader`` may see it: a citizen sees staff by name and role only."""
        author = shown({"sub": f.author.sub, "name": f.author.name, "role": f.author_role},
                       citizen_sub=view.citizen.sub,
                       to_citizen=not reads_as_staff(reader, view.snapshot.org))
        return cls(
            id=f.id, request_id=f.request_id, author=Author.model_validate(author),
            body=f.body,
            attachments=[AttachmentOut(id=a.id, filename=a.filename,
                                       content_type=a.content_type, size=a.size)
                         for a in f.attachments],
            created_at=f.created_at)


class FollowupPage(Model):
    items: list[FollowupOut]
    next_cursor: str | None


class NotificationOut(Model):
    id: str
    kind: str
    request_id: str
    title: str
    body: str
    created_at: datetime
    read: bool


class NotificationPage(Model):
    items: list[NotificationOut]
    next_cursor: str | None
