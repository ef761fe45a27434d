"""Domain events: the contract between services. Additive changes only.

Events about a request carry a snapshot of the request as the requests service knows it,
with its ``version``, so that a consumer can keep its own projection right even when
events arrive twice or out of order (event-carried state transfer).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import ConfigDict, Field

from shared.clock import SystemClock
from shared.ids import new_id
from shared.logs import correlation_id
from shared.model import Model

_REGISTRY: dict[str, Any] = {}


class Event(Model):
    model_config = ConfigDict(extra="ignore", frozen=True)

    id: str = Field(default_factory=new_id)
    type: str = ""
    occurred_at: datetime = Field(default_factory=lambda: SystemClock().now())
    correlation_id: str | None = Field(default_factory=lambda: correlation_id.get())
    # The entity the event is about, e.g. the request id; it orders the requests timeline.
    request_id: str

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        _REGISTRY[cls.__name__] = cls

    def model_post_init(self, context: Any) -> None:
        if not self.type:
            object.__setattr__(self, "type", type(self).__name__)

    @classmethod
    def parse(cls, doc: dict[str, Any]) -> Event:
        event: Event = _REGISTRY[doc["type"]].model_validate(doc)
        return event


class Party(Model):
    model_config = ConfigDict(frozen=True)
    sub: str
    name: str = ""
    email: str | None = None


class RequestSnapshot(Model):
    """What other contexts need to know about a request to decide who may act on it."""

    model_config = ConfigDict(frozen=True)
    version: int
    status: Literal["submitted", "in_analysis", "rejected", "in_service", "concluded"]
    service_id: str
    service_name: str
    org: str
    unit: str
    citizen: Party
    analyst: Party | None = None
    assignee: Party | None = None


class RequestEvent(Event):
    request: RequestSnapshot
    actor: Party


class RequestSubmitted(RequestEvent):
    pass


class AnalysisStarted(RequestEvent):
    pass


class StepChecked(RequestEvent):
    step_key: str
    ok: bool


class RequestRejected(RequestEvent):
    justification: str


class RequestApproved(RequestEvent):
    pass


class RequestConcluded(RequestEvent):
    summary: str
    has_attachment: bool = False


class RequestReassigned(RequestEvent):
    """The request changed hands while in service; ``request.assignee`` is the new one."""

    previous: Party | None = None
    reason: str = ""


class RosterChanged(Event):
    """An attendant's roster entry, whole, as the requests service keeps it now: every
    other service keeps its own copy of the roster from these (event-carried state
    transfer). ``version`` is the entry's own, so a copy arriving late changes nothing."""

    # Not about a request; the field is the base contract's.
    request_id: str = ""
    attendant: Party
    org: str
    unit: str
    enabled: bool
    version: int


class FollowupPosted(Event):
    followup_id: str
    author: Party
    author_role: Literal["citizen", "attendant"]
    attachments: int = 0
    # Who the other side is, so the notification needs no lookup.
    recipient: Party | None = None


class MeetingEvent(Event):
    meeting_id: str
    subject: str
    starts_at: datetime
    ends_at: datetime
    actor: Party
    citizen: Party | None = None
    attendant: Party | None = None


class MeetingScheduled(MeetingEvent):
    pass


class MeetingRescheduled(MeetingEvent):
    previous_starts_at: datetime | None = None


class MeetingCanceled(MeetingEvent):
    reason: str | None = None


class GuestInvited(MeetingEvent):
    # Never the invite token: the meetings service mails that to the guest itself.
    guest: Party


class MeetingJoined(MeetingEvent):
    participant: Party
    role: Literal["attendant", "citizen", "guest"]


class MeetingReminderDue(MeetingEvent):
    recipients: list[Party] = Field(default_factory=list)


class ReviewSubmitted(Event):
    review_id: str
    service_id: str
    verdict: Literal["approved", "rejected"]
    rating: int | None = None
    citizen: Party
    assignee: Party | None = None


class ReviewModerated(Event):
    review_id: str
    decision: Literal["approve", "reject"]
    citizen: Party
    actor: Party
