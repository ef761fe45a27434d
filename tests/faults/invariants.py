"""What must hold after a run, checked from outside: over HTTP as the people involved, and
in the data dir's outbox as an operator would look at it."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from infra.services import SERVICES
from shared.outbox import OUTBOX_PK
from shared.tables import Table
from tests.faults.workload import Caller, Workflow
from tests.helpers import Setup

TIMELINE_APPROVED = Counter({"RequestSubmitted": 1, "AnalysisStarted": 1, "StepChecked": 2,
                             "RequestApproved": 1, "FollowupPosted": 2,
                             "MeetingScheduled": 1, "RequestConcluded": 1,
                             # the conclusion cancels the meeting still to come
                             "MeetingCanceled": 1, "ReviewSubmitted": 1})
TIMELINE_REJECTED = Counter({"RequestSubmitted": 1, "AnalysisStarted": 1, "StepChecked": 2,
                             "RequestRejected": 1})
CITIZEN_APPROVED = Counter({"analysis_started": 1, "request_approved": 1,
                            "followup_posted": 1, "meeting_scheduled": 1,
                            "meeting_canceled": 1, "request_concluded": 1})
CITIZEN_REJECTED = Counter({"analysis_started": 1, "request_rejected": 1})
ASSIGNEE = Counter({"request_assigned": 1, "followup_posted": 1, "citizen_verdict": 1})


@dataclass
class Tally:
    """Effects missing (lost) and effects seen more than once (duplicated), by what."""

    lost: Counter[str] = field(default_factory=Counter)
    duplicated: Counter[str] = field(default_factory=Counter)

    def compare(self, what: str, expected: Counter[str], seen: Counter[str]) -> None:
        for key in expected.keys() | seen.keys():
            diff = seen[key] - expected[key]
            if diff > 0:
                self.duplicated[f"{what} {key}"] += diff
            elif diff < 0:
                self.lost[f"{what} {key}"] += -diff

    @property
    def ok(self) -> bool:
        return not self.lost and not self.duplicated


def _all(c: Caller, path: str, token: str, **params: Any) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    cursor = None
    while True:
        page = c.get(path, token, limit=100, **({"cursor": cursor} if cursor else {}),
                     **params)
        items += page["items"]
        cursor = page.get("next_cursor")
        if not cursor:
            return items


def check_workflows(c: Caller, s: Setup, flows: list[Workflow]) -> Tally:
    t = Tally()
    assignee = s.tokens["assignee"]
    by_request: dict[str, Counter[str]] = {}
    for note in _all(c, "/notifications", assignee):
        by_request.setdefault(note["request_id"], Counter())[note["kind"]] += 1
    for w in flows:
        if w.request_id is None:
            t.lost["request (never acknowledged)"] += 1
            continue
        rid = w.request_id
        req = c.get(f"/requests/{rid}", w.token)
        want_status = "concluded" if w.approve else "rejected"
        if req["status"] != want_status:
            t.lost[f"status {want_status}"] += 1
        timeline = Counter(i["type"] for i in c.get(f"/requests/{rid}/timeline", w.token)
                           ["items"])
        t.compare("timeline", TIMELINE_APPROVED if w.approve else TIMELINE_REJECTED, timeline)
        mine = Counter(n["kind"] for n in _all(c, "/notifications", w.token)
                       if n["request_id"] == rid)
        t.compare("citizen notification", CITIZEN_APPROVED if w.approve else CITIZEN_REJECTED,
                  mine)
        if not w.approve:
            continue
        t.compare("assignee notification", ASSIGNEE, by_request.get(rid, Counter()))
        posted = Counter(f["id"] for f in _all(c, f"/requests/{rid}/followups", w.token))
        t.compare("follow-up", Counter(w.followups), posted)
        meetings = Counter(m["id"] for m in c.get(f"/requests/{rid}/meetings", assignee)
                           ["items"])
        t.compare("meeting", Counter([w.meeting_id]), meetings)
        if req["citizen_verdict"] != w.review_verdict:
            t.lost["verdict on the request"] += 1
    reviewed = [w for w in flows if w.review_verdict]
    published = c.get("/reviews/published", s.tokens["citizen"], service_id=s.service_id)
    t.compare("review", Counter({"count": len(reviewed)}),
              Counter({"count": published["count"]}))
    return t


def outbox(tables: Mapping[str, Table]) -> Counter[str]:
    """Outbox entries left, by status, over every service's table."""
    left: Counter[str] = Counter()
    for name in SERVICES:
        for e in tables[name].query(OUTBOX_PK, limit=10_000).items:
            left[e["status"]] += 1
    return left
