"""The merged OpenAPI document describes every route as the server enforces it: a summary,
a description and a tag for each operation, the 4xx answers it can give, an example for
every body that the body's own model accepts, typed query parameters and required parts."""

from __future__ import annotations

import re
from typing import Any

import pytest

from infra.services import SERVICES, load_service
from shared.contract import Operation
from shared.openapi import error_codes

ALL: list[tuple[str, Operation]] = [(name, op) for name in SERVICES
                                    for op in load_service(name).operations]


@pytest.fixture(scope="module")
def doc() -> dict[str, Any]:
    from falcon import testing

    from infra.gateway import Gateway, platform_routes
    from shared.openapi import document

    gateway = Gateway({}, platform_routes(), lambda: [
        document(n, list(load_service(n).operations)) for n in SERVICES], 1 << 20)
    r = testing.TestClient(gateway).simulate_get("/openapi.json")
    assert r.status_code == 200
    return r.json


def _entry(doc: dict[str, Any], op: Operation) -> dict[str, Any]:
    return doc["paths"][op.path][op.method.lower()]


@pytest.mark.parametrize(("service", "op"), ALL, ids=[f"{o.method} {o.path}" for _, o in ALL])
def test_every_operation_has_summary_description_tag_and_its_errors(
        doc: dict[str, Any], service: str, op: Operation) -> None:
    entry = _entry(doc, op)
    assert entry["summary"] and entry["description"]
    assert entry["tags"] == [service]
    responses = entry["responses"]
    assert str(op.status) in responses
    problems = error_codes(op)
    wanted = {str(status) for status, _ in problems.values()}
    if op.auth == "bearer":
        assert "401" in wanted
    if "{" in op.path:
        assert "404" in wanted
    if op.body is not None or op.multipart:
        assert {"400", "413", "415", "422"} <= wanted
    if op.method == "POST":
        assert "409" in wanted
    assert wanted <= set(responses)
    for code, (status, meaning) in problems.items():
        assert f"`{code}`: {meaning}" in responses[str(status)]["description"]


@pytest.mark.parametrize(("service", "op"), [(s, o) for s, o in ALL if o.body is not None],
                         ids=[f"{o.method} {o.path}" for _, o in ALL if o.body is not None])
def test_every_body_has_an_example_its_model_accepts(doc: dict[str, Any], service: str,
                                                     op: Operation) -> None:
    content = _entry(doc, op)["requestBody"]["content"]["application/json"]
    assert content["example"] == op.example
    assert op.body is not None
    op.body.model_validate(op.example)


def test_query_parameters_are_typed_and_required_where_the_server_requires_them(
        doc: dict[str, Any]) -> None:
    from services.reviews.model import MODERATION_STATES

    panel = {p["name"]: p for p in doc["paths"]["/requests"]["get"]["parameters"]}
    assert panel["limit"]["schema"]["type"] == "integer"
    assert panel["limit"]["schema"]["maximum"] == 100
    assert panel["overdue"]["schema"]["type"] == "boolean"
    assert panel["status"]["schema"]["type"] == "array" and panel["status"]["explode"]
    queue = {p["name"]: p for p in doc["paths"]["/reviews"]["get"]["parameters"]}
    assert set(queue["moderation"]["schema"]["enum"]) == set(MODERATION_STATES)
    published = {p["name"]: p for p in doc["paths"]["/reviews/published"]["get"]["parameters"]}
    assert published["service_id"]["required"] is True


@pytest.mark.parametrize(("service", "op"), [(s, o) for s, o in ALL if o.query],
                         ids=[f"{o.method} {o.path}" for _, o in ALL if o.query])
def test_query_parameters_are_the_contracts_and_nothing_else(
        doc: dict[str, Any], service: str, op: Operation) -> None:
    """The kernel describes no parameter of its own: each one documented is one the route's
    contract declares, with the declared schema, meaning and requiredness."""
    shown = {p["name"]: p for p in _entry(doc, op)["parameters"] if p["in"] == "query"}
    assert list(shown) == [q.name for q in op.query]
    for q in op.query:
        assert shown[q.name]["schema"] == dict(q.schema)
        assert shown[q.name]["description"] == q.description and q.description
        assert shown[q.name]["required"] is q.required


@pytest.mark.parametrize("service", SERVICES)
def test_each_services_own_document_is_its_part_of_the_merged_one(
        doc: dict[str, Any], service: str) -> None:
    from shared.openapi import document

    own = document(service, list(load_service(service).operations))
    for path, ops in own["paths"].items():
        for method, entry in ops.items():
            assert doc["paths"][path][method] == entry, f"{method} {path}"
    for name, schema in own["components"]["schemas"].items():
        assert doc["components"]["schemas"][name] == schema, name


def test_published_without_service_id_is_refused_as_documented(harness: Any) -> None:
    r = harness.client.simulate_get("/reviews/published")
    assert r.status_code == 422 and r.json["errors"][0]["field"] == "service_id"


def test_verdict_and_decision_vocabularies_are_the_servers(doc: dict[str, Any]) -> None:
    schemas = doc["components"]["schemas"]
    assert schemas["ReviewIn"]["properties"]["verdict"]["enum"] == ["approved", "rejected"]
    assert schemas["ModerationIn"]["properties"]["decision"]["enum"] == ["approve", "reject"]


def test_multipart_parts_say_which_are_required(doc: dict[str, Any]) -> None:
    docs = doc["paths"]["/requests/{request_id}/documents"]["post"]["requestBody"]
    assert docs["content"]["multipart/form-data"]["schema"]["required"] == ["file"]
    fu = doc["paths"]["/requests/{request_id}/followups"]["post"]["requestBody"]
    schema = fu["content"]["multipart/form-data"]["schema"]
    assert schema["required"] == ["body"]
    assert schema["properties"]["file"]["type"] == "array"


def test_commands_that_wait_for_their_view_document_if_match_and_retry_after(
        doc: dict[str, Any]) -> None:
    for path in ("/requests/{request_id}/followups", "/requests/{request_id}/meetings",
                 "/requests/{request_id}/review"):
        entry = doc["paths"][path]["post"]
        assert "If-Match" in [p["name"] for p in entry["parameters"]]
        assert "`view_behind`" in entry["responses"]["409"]["description"]
        assert "Retry-After" in entry["responses"]["409"]["headers"]


def test_operation_ids_are_unique(doc: dict[str, Any]) -> None:
    ids = [e["operationId"] for ops in doc["paths"].values() for e in ops.values()]
    assert len(ids) == len(set(ids))
    assert all(re.fullmatch(r"[A-Za-z0-9_]+", i) for i in ids)


def test_a_services_own_problem_is_documented_from_its_error_class() -> None:
    from shared.errors import DomainError
    from shared.openapi import document

    class Overbooked(DomainError):
        status, code, title = 409, "overbooked", "Overbooked"
        meaning = "every seat is taken"

    op = Operation("POST", "/things/{thing_id}/seat", "Take a seat", description="d",
                   errors=("forbidden", Overbooked))
    assert error_codes(op)["overbooked"] == (409, "every seat is taken")
    conflict = document("Atende Things", [op])["paths"]["/things/{thing_id}/seat"]["post"]
    assert "`overbooked`: every seat is taken" in conflict["responses"]["409"]["description"]

    class Unexplained(DomainError):
        status, code, title = 409, "unexplained", "Unexplained"

    with pytest.raises(ValueError, match="meaning"):
        Operation("POST", "/things", "x", errors=(Unexplained,))
    with pytest.raises(KeyError, match="no kernel problem code"):
        error_codes(Operation("POST", "/things", "x", errors=("overbooked",)))
