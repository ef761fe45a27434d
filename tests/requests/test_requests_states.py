"""The state machine: every command in every state, in the model and over HTTP."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from services.requests.model import Request, party
from shared.errors import Forbidden, InvalidTransition, ValidationFailed
from tests.helpers import multipart, pdf_bytes, setup_service, to_state

NOW = datetime(2026, 3, 2, 12, tzinfo=UTC)
CITIZEN = party("ana", "Ana", "ana@example.com")
ANALYST = party("alice", "Alice", "alice@example.gov.br")
ASSIGNEE = party("bruno", "Bruno", "bruno@example.gov.br")
SERVICE = {"id": "svc", "name": "Serviço", "org": "org", "unit": "u", "deadline_days": 5,
           "form": [], "steps": [{"key": "a", "label": "A"}]}
STATES = ("submitted", "in_analysis", "rejected", "in_service", "concluded")
DOC = {"id": "d", "key": None, "filename": "x.pdf", "content_type": "application/pdf",
       "size": 1, "sha256": "0"}

# Each command with the one state it is allowed in (steps: two).
COMMANDS = {
    "add_document": ("submitted",),
    "start_analysis": ("submitted",),
    "check_step": ("in_analysis", "in_service"),
    "reject": ("in_analysis",),
    "approve": ("in_analysis",),
    "conclude": ("in_service",),
}


def request_in(state: str) -> Request:
    req = Request.submit(id="r1", service=SERVICE, citizen=CITIZEN, answers={}, now=NOW)
    if state != "submitted":
        req.start_analysis(ANALYST, NOW)
    if state == "rejected":
        req.reject(ANALYST, "Falta documento.", NOW)
    if state in ("in_service", "concluded"):
        req.approve(ANALYST, ASSIGNEE, NOW)
    if state == "concluded":
        req.conclude(ASSIGNEE, "Feito.", None, NOW)
    assert req.status == state
    return req


def run(req: Request, command: str) -> None:
    in_charge = ASSIGNEE if req.status == "in_service" else ANALYST
    {
        "add_document": lambda: req.add_document(CITIZEN, dict(DOC), NOW),
        "start_analysis": lambda: req.start_analysis(ANALYST, NOW),
        "check_step": lambda: req.check_step(in_charge, "a", True, None, NOW),
        "reject": lambda: req.reject(ANALYST, "Falta documento.", NOW),
        "approve": lambda: req.approve(ANALYST, ASSIGNEE, NOW),
        "conclude": lambda: req.conclude(ASSIGNEE, "Feito.", None, NOW),
    }[command]()


@pytest.mark.parametrize("state", STATES)
@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_every_command_in_every_state(state, command):
    req = request_in(state)
    version = req.version
    if state in COMMANDS[command]:
        run(req, command)
        assert req.version == version + 1
    else:
        with pytest.raises(InvalidTransition):
            run(req, command)
        assert (req.status, req.version) == (state, version)


def test_transitions_raise_their_event_with_a_fresh_snapshot():
    req = request_in("submitted")
    assert [e.type for e in req.events] == ["RequestSubmitted"]
    assert req.events[0].request.version == 1
    req.start_analysis(ANALYST, NOW)
    req.approve(ANALYST, ASSIGNEE, NOW)
    event = req.events[-1]
    assert event.type == "RequestApproved" and event.request.version == 3
    assert event.request.status == "in_service"
    assert event.request.assignee.email == "bruno@example.gov.br"
    assert event.request.citizen.email == "ana@example.com"
    assert event.actor.sub == "alice"
    assert req.due_at == "2026-03-07T12:00:00.000000+00:00"


def test_who_may_act_in_the_right_state():
    req = request_in("in_analysis")
    with pytest.raises(Forbidden):
        req.reject(ASSIGNEE, "Falta documento.", NOW)  # not the analyst
    with pytest.raises(Forbidden):
        req.check_step(ASSIGNEE, "a", True, None, NOW)
    with pytest.raises(ValidationFailed):
        req.approve(ANALYST, None, NOW)  # no valid assignee chosen
    req.approve(ANALYST, ASSIGNEE, NOW)
    with pytest.raises(Forbidden):
        req.check_step(ANALYST, "a", True, None, NOW)  # now the assignee's
    with pytest.raises(Forbidden):
        req.conclude(ANALYST, "Feito.", None, NOW)
    with pytest.raises(Forbidden):
        request_in("submitted").add_document(ANALYST, dict(DOC), NOW)


# --- over HTTP: 409 invalid_transition for the wrong state ---------------------------


def _send(h, s, rid: str, command: str, state: str):
    c = h.client
    url = f"/requests/{rid}"
    if command == "add_document":
        body, ctype = multipart({}, [("file", "a.pdf", pdf_bytes())])
        return c.simulate_post(f"{url}/documents", body=body,
                               headers=s.h("citizen", **{"Content-Type": ctype}))
    if command == "start_analysis":
        return c.simulate_post(f"{url}/analysis", headers=s.h("analyst"))
    if command == "check_step":
        who = "assignee" if state == "in_service" else "analyst"
        return c.simulate_put(f"{url}/steps/identidade", headers=s.h(who), json={"ok": True})
    if command == "reject":
        return c.simulate_post(f"{url}/rejection", headers=s.h("analyst"),
                               json={"justification": "Documento ilegível."})
    if command == "approve":
        return c.simulate_post(f"{url}/approval", headers=s.h("analyst"),
                               json={"assignee": s.subs["assignee"]})
    return c.simulate_post(f"{url}/conclusion", headers=s.h("assignee"),
                           json={"summary": "Feito."})


@pytest.mark.parametrize("state", STATES)
def test_http_commands_in_each_state(harness, state):
    s = setup_service(harness)
    for command, allowed in COMMANDS.items():
        rid = to_state(harness, s, state)
        r = _send(harness, s, rid, command, state)
        if state in allowed:
            assert r.status_code in (200, 201), (command, r.text)
        else:
            assert r.status_code == 409, (command, r.text)
            assert r.json["code"] == "invalid_transition"
            assert harness.client.simulate_get(
                f"/requests/{rid}", headers=s.h("citizen")).json["status"] == state
