"""The requests service's commands against a unit of work: the catalog, the roster as the
judge of who may act, the answers checked against the form, and what a command commits
(the request, its timeline and its events, in the outbox for each consuming service)."""

from __future__ import annotations

from typing import Any

import pytest

from services.requests import consumers, handlers
from services.requests.schemas import AttendantIn, RequestIn, ServiceIn, ServicePatch
from shared import messages as m
from shared.clock import iso
from shared.errors import (
    AttendantNotEnabled,
    ConflictOfInterest,
    Forbidden,
    NotFound,
    ValidationFailed,
)
from shared.identity import Principal
from shared.outbox import owed_to
from shared.preconditions import ANY
from tests.domain.support import (
    ANALYST,
    ASSIGNEE,
    CITIZEN,
    COLLEAGUE,
    ELSEWHERE,
    ORG,
    OTHER_CITIZEN,
    OTHER_UNIT,
    REGISTRAR,
    UNIT,
    Store,
    party,
)

CPF = "529.982.247-25"


@pytest.fixture
def service_id(store: Store) -> str:
    """A service of the registrar's institution, and its roster: the analyst and the
    assignee enabled in the unit, a colleague disabled, one attendant of another unit."""
    body = ServiceIn(name="Alvará de funcionamento", unit=UNIT, deadline_days=10,
                     form=[{"key": "cpf", "label": "CPF", "type": "cpf", "required": True},
                           {"key": "porte", "label": "Porte", "type": "choice",
                            "options": ["MEI", "ME"]}],
                     steps=[{"key": "docs", "label": "Documentos conferidos"}])
    created = store.run(lambda uow: handlers.create_service(uow, REGISTRAR, body, store.clock))
    for p, unit, enabled in ((ANALYST, UNIT, True), (ASSIGNEE, UNIT, True),
                             (COLLEAGUE, UNIT, False), (ELSEWHERE, OTHER_UNIT, True)):
        roster = AttendantIn(name=p.name, email=p.email, unit=unit, enabled=enabled)
        store.run(lambda uow, p=p, roster=roster: handlers.enrol(uow, REGISTRAR, p.sub, roster))
    return created.id


def submit(store: Store, service_id: str, answers: dict[str, Any] | None = None) -> str:
    body = RequestIn(service_id=service_id, answers=answers or {"cpf": CPF})
    return store.run(lambda uow: handlers.submit(uow, CITIZEN, body, store.clock)).id


def analyse(store: Store, rid: str, who: Principal = ANALYST) -> None:
    store.run(lambda uow: handlers.start_analysis(uow, who, rid, ANY, store.clock))


def test_only_a_registrar_adds_a_service_to_the_catalog(store: Store) -> None:
    body = ServiceIn(name="Poda de árvore", unit=UNIT, form=[], steps=[])
    store.refused(lambda uow: handlers.create_service(uow, ANALYST, body, store.clock),
                  Forbidden)
    created = store.run(lambda uow: handlers.create_service(uow, REGISTRAR, body, store.clock))
    assert created.org == REGISTRAR.org and created.active


def test_answers_are_checked_field_by_field_and_a_bad_submission_stores_nothing(
        store: Store, service_id: str) -> None:
    body = RequestIn(service_id=service_id,
                     answers={"cpf": "111.111.111-11", "porte": "Grande", "extra": "x"})
    error = store.refused(lambda uow: handlers.submit(uow, CITIZEN, body, store.clock),
                          ValidationFailed)
    assert error.errors == [
        {"field": "answers.extra", "message": "unknown field"},
        {"field": "answers.cpf", "message": "must be a valid CPF"},
        {"field": "answers.porte", "message": "must be one of the options"}]


def test_only_citizens_submit_requests(store: Store, service_id: str) -> None:
    body = RequestIn(service_id=service_id, answers={"cpf": CPF})
    store.refused(lambda uow: handlers.submit(uow, ANALYST, body, store.clock), Forbidden)


def test_a_retired_service_takes_no_new_requests(store: Store, service_id: str) -> None:
    store.run(lambda uow: handlers.patch_service(uow, REGISTRAR, service_id,
                                                 ServicePatch(active=False)))
    body = RequestIn(service_id=service_id, answers={"cpf": CPF})
    error = store.refused(lambda uow: handlers.submit(uow, CITIZEN, body, store.clock),
                          ValidationFailed)
    assert error.errors is not None and error.errors[0]["field"] == "service_id"


def test_a_submission_keeps_the_answers_trimmed_and_publishes_request_submitted(
        store: Store, service_id: str) -> None:
    rid = submit(store, service_id, {"cpf": f"  {CPF} ", "porte": " "})
    out = store.run(lambda uow: handlers.read_request(uow, CITIZEN, rid))
    assert out.answers == {"cpf": CPF}  # the blank optional answer is dropped
    assert out.citizen.model_dump() == {"sub": CITIZEN.sub, "name": CITIZEN.name}
    [event] = store.events(m.RequestEvent)
    assert isinstance(event, m.RequestSubmitted) and event.request_id == rid


def test_enrolling_an_attendant_tells_every_other_service_the_whole_entry(
        store: Store, service_id: str) -> None:
    changed = store.events(m.RosterChanged)
    assert [(e.attendant.sub, e.unit, e.enabled) for e in changed] == [
        (ANALYST.sub, UNIT, True), (ASSIGNEE.sub, UNIT, True), (COLLEAGUE.sub, UNIT, False),
        (ELSEWHERE.sub, OTHER_UNIT, True)]
    told = sorted(s for e in store.outbox() if e["event"]["id"] == changed[0].id
                  for s in owed_to(e))
    assert told == ["followups", "meetings", "reviews"]
    again = AttendantIn(name=COLLEAGUE.name, unit=UNIT, enabled=True)
    store.run(lambda uow: handlers.enrol(uow, REGISTRAR, COLLEAGUE.sub, again))
    assert store.events(m.RosterChanged)[-1].version == 2  # copies keep the newest


def test_an_approval_reaches_every_service_that_consumes_it(store: Store,
                                                            service_id: str) -> None:
    rid = submit(store, service_id)
    analyse(store, rid)
    out = store.run(lambda uow: handlers.approve(uow, ANALYST, rid, ASSIGNEE.sub, ANY,
                                                 store.clock))
    assert out.status == "in_service" and out.assignee is not None
    assert out.assignee.sub == ASSIGNEE.sub
    [event] = store.events(m.RequestApproved)
    assert event.request.assignee == party(ASSIGNEE)
    told = sorted(s for e in store.outbox() if e["event"]["id"] == event.id for s in owed_to(e))
    assert told == ["followups", "meetings", "reviews"]


def test_a_citizen_reads_the_staff_by_name_and_role_never_by_sub(store: Store,
                                                                   service_id: str) -> None:
    rid = submit(store, service_id)
    analyse(store, rid)
    store.run(lambda uow: handlers.approve(uow, ANALYST, rid, ASSIGNEE.sub, ANY, store.clock))
    seen = store.run(lambda uow: handlers.read_request(uow, CITIZEN, rid)).model_dump()
    assert seen["assignee"] == {"name": ASSIGNEE.name, "role": "attendant"}
    assert seen["analyst"] == {"name": ANALYST.name, "role": "attendant"}
    staff = store.run(lambda uow: handlers.read_request(uow, REGISTRAR, rid))
    assert staff.assignee is not None and staff.assignee.sub == ASSIGNEE.sub


@pytest.mark.parametrize("assignee", [COLLEAGUE.sub, ELSEWHERE.sub, "nobody"],
                         ids=["disabled", "other-unit", "not-on-roster"])
def test_the_assignee_must_be_an_enabled_attendant_of_the_unit(
        store: Store, service_id: str, assignee: str) -> None:
    rid = submit(store, service_id)
    analyse(store, rid)
    error = store.refused(lambda uow: handlers.approve(uow, ANALYST, rid, assignee, ANY,
                                                       store.clock), ValidationFailed)
    assert error.errors == [{"field": "assignee",
                             "message": "must be an enabled attendant of the unit"}]


def test_a_disabled_attendant_is_refused_whatever_the_request(store: Store,
                                                               service_id: str) -> None:
    rid = submit(store, service_id)
    for command in (
            lambda uow: handlers.start_analysis(uow, COLLEAGUE, rid, ANY, store.clock),
            lambda uow: handlers.read_request(uow, COLLEAGUE, "no-such-request")):
        error = store.refused(command, AttendantNotEnabled)
        assert (error.status, error.code) == (403, "attendant_not_enabled")


def test_nobody_analyses_or_is_assigned_their_own_request(store: Store,
                                                          service_id: str) -> None:
    helena = Principal(sub="helena", name="Helena Hora", roles=("citizen", "attendant"),
                       org=ORG, unit=UNIT)
    roster = AttendantIn(name=helena.name, unit=UNIT, enabled=True)
    store.run(lambda uow: handlers.enrol(uow, REGISTRAR, helena.sub, roster))
    body = RequestIn(service_id=service_id, answers={"cpf": CPF})
    rid = store.run(lambda uow: handlers.submit(uow, helena, body, store.clock)).id
    error = store.refused(lambda uow: handlers.start_analysis(uow, helena, rid, ANY,
                                                              store.clock), ConflictOfInterest)
    assert error.code == "conflict_of_interest"
    analyse(store, rid)
    store.refused(lambda uow: handlers.approve(uow, ANALYST, rid, helena.sub, ANY,
                                               store.clock), ConflictOfInterest)


def test_the_registrar_or_the_assignee_hands_a_request_over(store: Store,
                                                            service_id: str) -> None:
    enable = AttendantIn(name=COLLEAGUE.name, unit=UNIT, enabled=True)
    store.run(lambda uow: handlers.enrol(uow, REGISTRAR, COLLEAGUE.sub, enable))
    rid = submit(store, service_id)
    analyse(store, rid)
    store.run(lambda uow: handlers.approve(uow, ANALYST, rid, ASSIGNEE.sub, ANY, store.clock))
    store.refused(lambda uow: handlers.reassign(uow, ANALYST, rid, COLLEAGUE.sub, "Férias",
                                                ANY, store.clock), Forbidden)
    out = store.run(lambda uow: handlers.reassign(uow, ASSIGNEE, rid, COLLEAGUE.sub, "Férias",
                                                  ANY, store.clock))
    assert out.assignee is not None and out.assignee.sub == COLLEAGUE.sub
    [event] = store.events(m.RequestReassigned)
    assert (event.previous, event.reason) == (party(ASSIGNEE), "Férias")
    store.run(lambda uow: handlers.reassign(uow, REGISTRAR, rid, ASSIGNEE.sub, "Voltou",
                                            ANY, store.clock))
    assert len(store.events(m.RequestReassigned)) == 2


def test_a_request_of_another_unit_is_not_found_rather_than_forbidden(
        store: Store, service_id: str) -> None:
    rid = submit(store, service_id)
    store.refused(lambda uow: handlers.start_analysis(uow, ELSEWHERE, rid, ANY, store.clock),
                  NotFound)
    store.refused(lambda uow: handlers.read_request(uow, ELSEWHERE, rid), NotFound)


def test_a_failing_step_needs_a_note(store: Store, service_id: str) -> None:
    rid = submit(store, service_id)
    analyse(store, rid)
    store.refused(lambda uow: handlers.check_step(uow, ANALYST, rid, "docs", False, "  ", ANY,
                                                  store.clock), ValidationFailed)
    out = store.run(lambda uow: handlers.check_step(uow, ANALYST, rid, "docs", False,
                                                    "Falta a página 2.", ANY, store.clock))
    assert out.steps[0].note == "Falta a página 2."


def test_the_timeline_shows_each_step_and_other_services_events(store: Store,
                                                                service_id: str) -> None:
    rid = submit(store, service_id)
    store.clock.advance(minutes=1)
    analyse(store, rid)
    store.clock.advance(minutes=1)
    store.run(lambda uow: handlers.approve(uow, ANALYST, rid, ASSIGNEE.sub, ANY, store.clock))
    store.clock.advance(hours=1)
    review = m.ReviewSubmitted(request_id=rid, occurred_at=store.clock.now(), review_id="rv1",
                               service_id=service_id, verdict="approved", rating=5,
                               citizen=party(CITIZEN), assignee=party(ASSIGNEE))
    store.feed(consumers.apply, review)
    page = handlers.timeline(store.uow(), store.table, CITIZEN, rid, 20, None)
    assert [e.type for e in page.items] == ["RequestSubmitted", "AnalysisStarted",
                                            "RequestApproved", "ReviewSubmitted"]
    assert page.items[-1].data == {"review_id": "rv1", "verdict": "approved", "rating": 5}
    out = store.run(lambda uow: handlers.read_request(uow, CITIZEN, rid))
    assert out.citizen_verdict == "approved"
    assert out.last_activity_at == iso(store.clock.now())


def test_the_request_and_its_timeline_from_one_read_answer_as_the_two_queries(
        store: Store, service_id: str) -> None:
    """The console's detail reads the request and its timeline's first page together:
    each as its own query answers it, for each reader, a longer timeline with the same
    cursor, and the same refusals."""
    rid = submit(store, service_id)
    other = submit(store, service_id)  # its partition sorts beside: none of it is read
    store.clock.advance(minutes=1)
    analyse(store, rid)
    store.clock.advance(minutes=1)
    store.run(lambda uow: handlers.approve(uow, ANALYST, rid, ASSIGNEE.sub, ANY, store.clock))
    analyse(store, other)
    for who in (CITIZEN, ANALYST, ASSIGNEE, REGISTRAR):
        for limit in (20, 2):
            doc, page, form = handlers.request_and_timeline(store.table, who, rid, limit)
            assert doc == handlers.read_request_body(store.uow(), who, rid)
            assert form == store.table.get(f"REQ#{rid}", "REQ")["form"]  # type: ignore[index]
            assert page == handlers.timeline_body(store.uow(), store.table, who, rid, limit,
                                                  None)
    assert len(page["items"]) == 2 and page["next_cursor"] is not None
    for who, error in ((ELSEWHERE, NotFound), (OTHER_CITIZEN, NotFound),
                       (COLLEAGUE, AttendantNotEnabled)):
        with pytest.raises(error):
            handlers.request_and_timeline(store.table, who, rid, 20)
    with pytest.raises(NotFound):
        handlers.request_and_timeline(store.table, ANALYST, "unknown", 20)
