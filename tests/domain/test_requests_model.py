"""The request aggregate on its own: its state machine, who may move it, and the events
each step records for the other services."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from services.requests.model import Doc, Request, party
from services.requests.schemas import RejectionIn
from shared import messages as m
from shared.clock import iso
from shared.errors import Forbidden, InvalidTransition, NotFound, ValidationFailed
from tests.domain.support import (
    ANALYST,
    ASSIGNEE,
    CITIZEN,
    COLLEAGUE,
    NOON,
    ORG,
    SERVICE_ID,
    SERVICE_NAME,
    UNIT,
)

LATER = NOON + timedelta(hours=1)


def who(p: Any) -> Doc:
    return party(p.sub, p.name, p.email)


def service(deadline_days: int | None = 10) -> Doc:
    return {"id": SERVICE_ID, "name": SERVICE_NAME, "org": ORG, "unit": UNIT,
            "deadline_days": deadline_days,
            "form": [{"key": "cnpj", "label": "CNPJ", "type": "text", "required": True}],
            "steps": [{"key": "docs", "label": "Documentos conferidos"}]}


def new_request(deadline_days: int | None = 10) -> Request:
    return Request.submit(id="r1", service=service(deadline_days), citizen=who(CITIZEN),
                          answers={"cnpj": "11.222.333/0001-81"}, now=NOON)


def in_analysis() -> Request:
    req = new_request()
    req.start_analysis(who(ANALYST), NOON)
    return req


def in_service() -> Request:
    req = in_analysis()
    req.approve(who(ANALYST), who(ASSIGNEE), NOON)
    return req


def fresh(req: Request) -> Request:
    req.events.clear()
    req.entries.clear()
    return req


def test_a_submission_is_recorded_for_the_citizen_with_its_deadline() -> None:
    req = new_request(deadline_days=10)
    assert req.status == "submitted" and req.version == 1
    assert req.due_at == iso(NOON + timedelta(days=10))
    [event] = req.events
    assert isinstance(event, m.RequestSubmitted)
    assert event.actor.sub == CITIZEN.sub and event.request.citizen.sub == CITIZEN.sub
    assert new_request(deadline_days=None).due_at is None


def test_starting_the_analysis_makes_the_caller_the_analyst() -> None:
    req = fresh(new_request())
    req.start_analysis(who(ANALYST), LATER)
    assert req.status == "in_analysis" and req.is_analyst(ANALYST.sub)
    [event] = req.events
    assert isinstance(event, m.AnalysisStarted)
    assert event.request.version == req.version == 2
    assert event.request.analyst is not None and event.request.analyst.sub == ANALYST.sub
    assert req.updated_at == req.last_activity_at == iso(LATER)


def test_a_second_attendant_cannot_take_over_an_analysis() -> None:
    req = fresh(in_analysis())
    with pytest.raises(InvalidTransition):
        req.start_analysis(who(COLLEAGUE), LATER)
    assert req.is_analyst(ANALYST.sub) and req.events == []


def test_a_rejection_records_the_justification_and_the_analyst_without_email() -> None:
    req = fresh(in_analysis())
    req.reject(who(ANALYST), "Faltou o contrato social.", LATER)
    assert req.status == "rejected"
    assert req.rejection == {"justification": "Faltou o contrato social.",
                             "by": {"sub": ANALYST.sub, "name": ANALYST.name},
                             "at": iso(LATER)}
    [event] = req.events
    assert isinstance(event, m.RequestRejected)
    assert event.justification == "Faltou o contrato social."


def test_an_approval_records_request_approved_with_the_assignee() -> None:
    req = fresh(in_analysis())
    req.approve(who(ANALYST), who(ASSIGNEE), LATER)
    assert req.status == "in_service" and req.is_assignee(ASSIGNEE.sub)
    [event] = req.events
    assert isinstance(event, m.RequestApproved)
    assert event.request.status == "in_service"
    assert event.request.assignee == m.Party(sub=ASSIGNEE.sub, name=ASSIGNEE.name,
                                             email=ASSIGNEE.email)
    assert req.entries[-1]["data"] == {"assignee": {"sub": ASSIGNEE.sub,
                                                    "name": ASSIGNEE.name}}


def test_an_approval_without_an_enabled_assignee_is_refused_on_that_field() -> None:
    req = fresh(in_analysis())
    with pytest.raises(ValidationFailed) as info:
        req.approve(who(ANALYST), None, LATER)
    assert info.value.errors == [{"field": "assignee",
                                  "message": "must be an enabled attendant of the unit"}]
    assert req.status == "in_analysis" and req.events == []


@pytest.mark.parametrize("decide", [
    lambda r, p: r.reject(p, "Documentação incompleta.", LATER),
    lambda r, p: r.approve(p, who(ASSIGNEE), LATER),
], ids=["reject", "approve"])
def test_only_the_analyst_decides(decide: Callable[[Request, Doc], None]) -> None:
    req = fresh(in_analysis())
    with pytest.raises(Forbidden):
        decide(req, who(COLLEAGUE))
    assert req.status == "in_analysis" and req.version == 2 and req.events == []


def test_the_state_is_checked_before_who_is_acting() -> None:
    # A colleague rejecting a request nobody analyses yet hears "not now", not "not you".
    with pytest.raises(InvalidTransition):
        new_request().reject(who(COLLEAGUE), "Documentação incompleta.", LATER)


def test_only_the_assignee_concludes_with_a_summary() -> None:
    req = fresh(in_service())
    with pytest.raises(Forbidden):
        req.conclude(who(ANALYST), "Alvará emitido.", None, LATER)
    req.conclude(who(ASSIGNEE), "Alvará emitido.", {"id": "pdf"}, LATER)
    assert req.status == "concluded"
    [event] = req.events
    assert isinstance(event, m.RequestConcluded)
    assert (event.summary, event.has_attachment) == ("Alvará emitido.", True)


def test_a_reassignment_records_who_had_it_and_why() -> None:
    req = fresh(in_service())
    with pytest.raises(ValidationFailed, match="already"):
        req.reassign(who(ANALYST), who(ASSIGNEE), "Férias", LATER)
    req.reassign(who(ANALYST), who(COLLEAGUE), "Férias", LATER)
    assert req.status == "in_service" and req.is_assignee(COLLEAGUE.sub)
    [event] = req.events
    assert isinstance(event, m.RequestReassigned)
    assert event.previous == m.Party(sub=ASSIGNEE.sub, name=ASSIGNEE.name,
                                     email=ASSIGNEE.email)
    assert event.request.assignee is not None and event.request.assignee.sub == COLLEAGUE.sub
    assert event.reason == "Férias"
    with pytest.raises(InvalidTransition):
        in_analysis().reassign(who(ANALYST), who(COLLEAGUE), "Férias", LATER)


@pytest.mark.parametrize("finish", [
    lambda r: r.reject(who(ANALYST), "Documentação incompleta.", NOON),
    lambda r: (r.approve(who(ANALYST), who(ASSIGNEE), NOON),
               r.conclude(who(ASSIGNEE), "Feito.", None, NOON)),
], ids=["rejected", "concluded"])
@pytest.mark.parametrize("move", [
    lambda r: r.start_analysis(who(ANALYST), LATER),
    lambda r: r.reject(who(ANALYST), "Documentação incompleta.", LATER),
    lambda r: r.approve(who(ANALYST), who(ASSIGNEE), LATER),
    lambda r: r.conclude(who(ASSIGNEE), "De novo.", None, LATER),
    lambda r: r.check_step(who(ASSIGNEE), "docs", True, None, LATER),
    lambda r: r.reassign(who(ASSIGNEE), who(COLLEAGUE), "Férias", LATER),
], ids=["analyse", "reject", "approve", "conclude", "check", "reassign"])
def test_a_finished_request_accepts_no_transition(finish: Callable[[Request], Any],
                                                  move: Callable[[Request], Any]) -> None:
    req = in_analysis()
    finish(req)
    status, version = req.status, req.version
    with pytest.raises(InvalidTransition):
        move(fresh(req))
    assert (req.status, req.version, req.events) == (status, version, [])


def test_steps_are_checked_by_whoever_is_in_charge_now() -> None:
    req = fresh(in_analysis())
    with pytest.raises(Forbidden):
        req.check_step(who(COLLEAGUE), "docs", True, None, LATER)
    req.check_step(who(ANALYST), "docs", False, "Falta a página 2.", LATER)
    assert req.steps[0]["ok"] is False and req.steps[0]["note"] == "Falta a página 2."
    assert req.steps[0]["checked_by"] == {"sub": ANALYST.sub, "name": ANALYST.name}
    [event] = req.events
    assert isinstance(event, m.StepChecked) and (event.step_key, event.ok) == ("docs", False)
    req.approve(who(ANALYST), who(ASSIGNEE), LATER)
    with pytest.raises(Forbidden):  # once in service, the analyst is no longer in charge
        req.check_step(who(ANALYST), "docs", True, None, LATER)
    req.check_step(who(ASSIGNEE), "docs", True, None, LATER)
    assert req.steps[0]["ok"] is True
    with pytest.raises(NotFound):
        req.check_step(who(ASSIGNEE), "no-such-step", True, None, LATER)


def test_only_the_citizen_adds_documents_and_only_before_the_analysis() -> None:
    req = fresh(new_request())
    doc = {"id": "d1", "key": "contrato", "filename": "contrato.pdf"}
    with pytest.raises(Forbidden):
        req.add_document(who(ANALYST), doc, LATER)
    req.add_document(who(CITIZEN), doc, LATER)
    assert req.documents == [doc] and req.version == 2
    assert [e["type"] for e in req.entries] == ["DocumentAdded"]
    assert req.events == []  # a document is this service's own business
    req.start_analysis(who(ANALYST), LATER)
    with pytest.raises(InvalidTransition):
        req.add_document(who(CITIZEN), {**doc, "id": "d2"}, LATER)


def test_activity_from_other_services_keeps_the_latest_time_whatever_the_order() -> None:
    req = fresh(new_request())
    late, early = NOON + timedelta(hours=3), NOON + timedelta(hours=2)
    req.note_activity({"type": "FollowupPosted"}, late)
    req.note_activity({"type": "MeetingScheduled"}, early)
    assert req.last_activity_at == iso(late)
    assert len(req.entries) == 2 and req.version == 3


def test_the_newest_citizen_verdict_wins_even_when_it_arrives_first() -> None:
    req = in_service()
    req.set_verdict("rejected", NOON + timedelta(hours=2))
    req.set_verdict("approved", NOON + timedelta(hours=1))
    assert req.citizen_verdict == "rejected"


def test_the_aggregate_survives_storage_without_its_pending_events() -> None:
    req = in_service()
    back = Request.from_doc(req.to_doc())
    assert back == req
    assert back.events == [] and back.entries == []


@pytest.mark.parametrize(("text", "ok"), [
    ("curta", False), ("  nove letr  ", False), ("dez letras", True),
    ("  Faltou o contrato social.  ", True)])
def test_a_rejection_needs_a_justification_of_at_least_ten_characters(text: str,
                                                                      ok: bool) -> None:
    if ok:
        assert RejectionIn(justification=text).justification == text.strip()
    else:
        with pytest.raises(ValidationError, match="at least 10 characters"):
            RejectionIn(justification=text)
