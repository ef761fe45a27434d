"""Domain events: the contract between services. Additive changes only.

These are the kernel's events, known to every service from the start; a service declares
a newer one in its own folder and names its class in its contract (docs/extending.md).

Events about a request carry a snapshot of the request as the requests service knows it,
with its ``version``, so that a consumer can keep its own projection right even when
events arrive twice or out of order (event-carried state transfer).
"""

from __future__ import annotations

import builtins
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Literal

from pydantic import ConfigDict, Field

from shared.clock import SystemClock
from shared.ids import new_id
from shared.logs import correlation_id
from shared.model import Model, empty_list

# The kernel's own events by type name. A service's events are found through its contract
# instead: in one process (the embedded platform runs every service) the publisher's schema
# and a consumer's reader model of the same type would otherwise clobber each other here.
_REGISTRY: dict[str, type[Event]] = {}


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
        if cls.__module__ == __name__:
            _REGISTRY[cls.__name__] = cls

    def model_post_init(self, context: Any) -> None:
        if not self.type:
            object.__setattr__(self, "type", type(self).__name__)

    @classmethod
    def parse(cls, doc: dict[str, Any],
              schemas: Mapping[str, builtins.type[Event]] | None = None) -> Event:
        """The event a delivered document is: read with the given schemas (a service's
        own models, by type name) first, else the kernel's."""
        schema = (schemas or {}).get(doc["type"]) or _REGISTRY[doc["type"]]
        return schema.model_validate(doc)


def kernel_events() -> dict[str, type[Event]]:
    """The kernel's concrete event types (a base such as RequestEvent is never sent as
    itself), by type name."""
    return {name: cls for name, cls in _REGISTRY.items()
            if not any(other is not cls and issubclass(other, cls)
                       for other in _REGISTRY.values())}


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
    recipients: list[Party] = Field(default_factory=empty_list)


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


# Every event about a request's own life, as the services that keep a projection of
# requests consume them.
REQUEST_EVENTS: tuple[str, ...] = tuple(
    name for name, cls in kernel_events().items() if issubclass(cls, RequestEvent))
