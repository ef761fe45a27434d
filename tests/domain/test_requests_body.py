"""The request's JSON answer made without its model (``views.request_body``) is the
model's own dump, for every state and every reader: the model stays the contract."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from services.requests import views
from services.requests.model import Request
from services.requests.schemas import RequestOut, TimelineEntry
from shared.identity import Principal
from tests.domain.support import (
    ANALYST,
    ASSIGNEE,
    CITIZEN,
    COLLEAGUE,
    FOREIGN,
    NOON,
    REGISTRAR,
)
from tests.domain.test_requests_model import in_analysis, in_service, new_request, who

FILE = {"id": "d1", "key": "cnpj", "filename": "contrato.pdf", "content_type":
        "application/pdf", "size": 1234, "sha256": "ab" * 32, "blob": "blobs/d1"}


def with_document() -> Request:
    req = new_request()
    req.add_document(who(CITIZEN), dict(FILE), NOON)
    return req


def checked() -> Request:
    req = in_analysis()
    req.check_step(who(ANALYST), "docs", False, "falta a folha 2", NOON)
    return req


def rejected() -> Request:
    req = checked()
    req.reject(who(ANALYST), "documentação incompleta", NOON)
    return req


def concluded() -> Request:
    req = with_document()
    req.start_analysis(who(ANALYST), NOON)
    req.approve(who(ANALYST), who(ASSIGNEE), NOON)
    req.conclude(who(ASSIGNEE), "feito", {**FILE, "id": "d2", "key": None}, NOON)
    req.set_verdict("approved", NOON)
    return req


def nameless() -> Request:
    """Parties without a usable name, and one that says its role."""
    req = in_service()
    req.citizen = {**req.citizen, "name": ""}
    req.assignee = {"sub": "bruno", "name": None, "email": None, "role": "attendant"}
    return req


STATES: list[Callable[[], Request]] = [new_request, with_document, in_analysis, checked,
                                       rejected, in_service, concluded, nameless]
READERS: list[Principal | None] = [None, CITIZEN, ANALYST, ASSIGNEE, COLLEAGUE, REGISTRAR,
                                   FOREIGN]


@pytest.mark.parametrize("state", STATES, ids=lambda s: s.__name__)
@pytest.mark.parametrize("reader", READERS, ids=lambda p: p.sub if p else "staff")
def test_the_body_is_the_models_dump(state: Callable[[], Request],
                                     reader: Principal | None) -> None:
    req = state()
    model: dict[str, Any] = RequestOut.model_validate(
        views.request_doc(req, reader)).model_dump(mode="json")
    body = views.request_body(req, reader)
    assert body == model
    assert list(body) == list(model)  # and in the model's order


def entries() -> list[dict[str, Any]]:
    """Every kind of entry the states above record, and entries from other services
    (a follow-up's, a meeting's, with parties in their data)."""
    out: list[dict[str, Any]] = []
    for state in STATES:
        out += state().entries
    out.append({"at": "2026-03-02T12:00:00+00:00", "type": "FollowupPosted",
                "actor": {"sub": "bruno", "name": "Bruno Braga"},
                "data": {"author_role": "attendant", "followup_id": "f1"}})
    out.append({"at": "2026-03-02T12:00:00+00:00", "type": "MeetingJoined",
                "actor": {"sub": "guest:x", "name": ""},
                "data": {"role": "guest", "by": {"sub": "carla", "name": "Carla"},
                         "guests": [{"sub": "guest:y", "name": "Gil"}]}})
    out.append({"at": "2026-03-02T12:00:00+00:00", "type": "MeetingReminderDue",
                "actor": None, "data": {}})
    return out


@pytest.mark.parametrize("reader", READERS[1:], ids=lambda p: p.sub)
def test_the_timeline_body_is_the_models_dump(reader: Principal) -> None:
    req = concluded()
    for entry in entries():
        model = TimelineEntry.model_validate(
            views.timeline_entry(entry, req, reader)).model_dump(mode="json")
        body = views.timeline_body(entry, req, reader)
        assert body == model and list(body) == list(model)
