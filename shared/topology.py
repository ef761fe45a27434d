"""Which services consume which events. Publishing enqueues one message per consuming
service on that service's queue, by actor name, without importing the consumer."""

from __future__ import annotations

SERVICES = ("requests", "followups", "meetings", "reviews")

_REQUEST_EVENTS = (
    "RequestSubmitted",
    "AnalysisStarted",
    "StepChecked",
    "RequestRejected",
    "RequestApproved",
    "RequestConcluded",
    "RequestReassigned",
)
_MEETING_EVENTS = (
    "MeetingScheduled",
    "MeetingRescheduled",
    "MeetingCanceled",
    "GuestInvited",
    "MeetingJoined",
)

CONSUMERS: dict[str, tuple[str, ...]] = {
    **{t: ("followups", "meetings", "reviews") for t in _REQUEST_EVENTS},
    "FollowupPosted": ("requests", "followups"),
    **{t: ("requests", "followups") for t in _MEETING_EVENTS},
    "MeetingReminderDue": ("followups",),
    "ReviewSubmitted": ("requests", "followups"),
    "ReviewModerated": ("requests", "followups"),
    # The requests service keeps the roster; the others keep copies to check callers by.
    "RosterChanged": ("followups", "meetings", "reviews"),
}


def queue_of(service: str) -> str:
    return f"{service}-events"


def actor_of(service: str) -> str:
    return f"{service}_on_event"


def consumers(event_type: str) -> tuple[str, ...]:
    return CONSUMERS.get(event_type, ())
