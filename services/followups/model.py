"""This service's view of a request, and the follow-up aggregate. Pure: no storage, no HTTP.

Who may do what with follow-ups is decided here from the projection of the request that
the request events carry (citizen, org, unit, assignee, status)::

    read   the citizen, the assignee, attendants of the request's org and unit,
           registrars of its org                                  (others: 404)
    post   the citizen or the assignee, while ``in_service``      (409 / 403)

Before any of it, an attendant is judged by this service's copy of the roster
(``shared.roster``): not enabled, 403 ``attendant_not_enabled``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from shared.errors import Forbidden, InvalidTransition
from shared.files import Upload
from shared.identity import Principal
from shared.messages import Event, FollowupPosted, Party
from shared.projection import RequestView as SharedView

AuthorRole = Literal["citizen", "attendant"]


class RequestView(SharedView):
    """This service's rules on top of the shared view of a request."""

    def author_role(self, who: Principal) -> AuthorRole:
        """The side ``who`` speaks for in the conversation; refuses everyone else."""
        self.check_visible(who)
        if self.snapshot.status != "in_service":
            raise InvalidTransition(
                f"follow-ups are exchanged while the request is in_service, "
                f"not {self.snapshot.status}")
        if who.sub == self.citizen.sub:
            return "citizen"
        if self.is_assignee(who):
            return "attendant"
        raise Forbidden("only the assignee and the citizen exchange follow-ups")

    def other_side(self, role: AuthorRole) -> Party | None:
        return self.assignee if role == "citizen" else self.citizen


@dataclass(frozen=True)
class Attachment:
    id: str
    filename: str
    content_type: str
    size: int
    blob: str


@dataclass
class Followup:
    id: str
    request_id: str
    author: Party
    author_role: AuthorRole
    body: str
    attachments: list[Attachment]
    created_at: datetime
    events: list[Event] = field(default_factory=list)

    @classmethod
    def post(cls, fid: str, view: RequestView, who: Principal, role: AuthorRole, body: str,
             attachments: list[Attachment], now: datetime) -> Followup:
        """``role``: what ``view.author_role(who)`` decided, the command's one check."""
        author = Party(sub=who.sub, name=who.name_as(role), email=who.email)
        followup = cls(fid, view.id, author, role, body, attachments, now)
        # The event names who was told, so the notifier needs no lookup, and never carries
        # the message text.
        followup.events.append(FollowupPosted(
            request_id=view.id, occurred_at=now, followup_id=fid, author=author,
            author_role=role, attachments=len(attachments), recipient=view.other_side(role)))
        return followup


def stored_attachment(aid: str, upload: Upload, blob: str) -> Attachment:
    return Attachment(aid, upload.filename, upload.content_type, upload.size, blob)
