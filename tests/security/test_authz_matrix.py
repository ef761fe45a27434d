"""Who may call what: every route of every service behind the gateway, called by every kind
of caller, against the status the table below says.

The table is checked against the apps' real route tables (falcon's router, not the
OpenAPI list): a route without a row fails, and so does a row without a route.

Callers (columns, in this order):
  anon      no token
  owner     the citizen who made the request (and owns the notification)
  citizen   another citizen
  unit      an enabled attendant of the request's unit: its analyst, then its assignee
  o_unit    an enabled attendant of another unit of the same institution
  o_org     a registrar and attendant of another institution, with the same unit name
  disabled  an attendant of the unit whose roster entry is disabled
  never     a token with the role attendant of the unit, never enrolled on the roster
  self      a citizen who is also an enabled attendant of the unit; on the rows that handle
            a request (HANDLING) they call on a request of their own (``self:<target>``)
  registrar the institution's registrar
A request one may not see is 404, never 403 (API.md); commands go last in a row, so the
refusals before them meet the state the row was written for.

An attendant who is not enabled is refused on every route that takes a token, before
anything is looked up (403 ``attendant_not_enabled``): the answer depends on the caller
alone, so it tells nothing of the request named. Staff on their own request get 403
``conflict_of_interest`` where they would handle it. Those two answers are checked by code.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from falcon import inspect

from infra.gateway import service_for
from tests.helpers import multipart, pdf_bytes
from tests.security.world import World, build_world

ROLES = ("anon", "owner", "citizen", "unit", "o_unit", "o_org", "disabled", "never", "self",
         "registrar")
Expected = int | tuple[int, str]
NE: Expected = (403, "attendant_not_enabled")
COI: Expected = (403, "conflict_of_interest")
PUBLIC: tuple[Expected, ...] = (200,) * 10
READ = (401, 200, 404, 200, 404, 404, NE, NE, 200, 200)     # the request's people and staff
ACT = (401, 403, 404, 200, 404, 404, NE, NE, COI, 403)      # the unit attendant acts

# (method, route template): (expected status per role, target, body). The target names
# the world's object whose ids fill the template; the body is built from the world.
MATRIX: dict[tuple[str, str], tuple[tuple[Expected, ...], str, str | None]] = {
    # gateway
    ("GET", "/health"): (PUBLIC, "-", None),
    ("GET", "/openapi.json"): (PUBLIC, "-", None),
    # catalog and roster
    ("POST", "/catalog/services"):
        ((401, 403, 403, 403, 403, 201, NE, NE, 403, 201), "-", "service"),
    ("GET", "/catalog/services"): (PUBLIC, "-", None),
    ("GET", "/catalog/services/{service_id}"): (PUBLIC, "-", None),
    ("PATCH", "/catalog/services/{service_id}"):
        ((401, 403, 403, 403, 403, 403, NE, NE, 403, 200), "-", "patch"),
    ("PUT", "/attendants/{sub}"):
        ((401, 403, 403, 403, 403, 200, NE, NE, 403, 200), "-", "enrol"),
    ("GET", "/attendants"): ((401, 403, 403, 200, 200, 200, NE, NE, 200, 200), "-", None),
    # requests
    ("POST", "/requests"): ((401, 201, 201, 403, 403, 403, NE, NE, 201, 403), "-", "request"),
    ("GET", "/requests"): ((401, 200, 200, 200, 200, 200, NE, NE, 200, 200), "-", None),
    ("GET", "/requests/{request_id}"): (READ, "submitted", None),
    ("POST", "/requests/{request_id}/documents"):
        ((401, 201, 404, 403, 404, 404, NE, NE, 403, 403), "submitted", "document"),
    ("GET", "/requests/{request_id}/documents/{doc_id}"): (READ, "submitted", None),
    # Direct uploads need S3: past its authorization the owner learns that (409) here, on
    # files kept on disk, where no slot can exist either (404). tests/aws/test_direct_uploads.py
    # calls both as the owner on S3.
    ("POST", "/requests/{request_id}/documents/uploads"):
        ((401, (409, "conflict"), 404, 403, 404, 404, NE, NE, 403, 403), "submitted", "upload"),
    ("POST", "/requests/{request_id}/documents/uploads/{upload_id}"):
        ((401, 404, 404, 403, 404, 404, NE, NE, 403, 403), "submitted", None),
    ("POST", "/requests/{request_id}/analysis"): (ACT, "to_analyse", None),
    ("PUT", "/requests/{request_id}/steps/{key}"): (ACT, "in_analysis", "step"),
    ("POST", "/requests/{request_id}/rejection"): (ACT, "to_reject", "rejection"),
    ("POST", "/requests/{request_id}/approval"): (ACT, "to_approve", "approval"),
    ("POST", "/requests/{request_id}/conclusion"): (ACT, "to_conclude", "conclusion"),
    # The assignee hands it over, then the registrar hands it back.
    ("POST", "/requests/{request_id}/reassignment"):
        ((401, 403, 404, 200, 404, 404, NE, NE, COI, 200), "to_reassign", "reassignment"),
    ("GET", "/requests/{request_id}/timeline"): (READ, "in_service", None),
    # follow-ups and notifications
    ("POST", "/requests/{request_id}/followups"):
        ((401, 201, 404, 201, 404, 404, NE, NE, 403, 403), "in_service", "followup"),
    ("GET", "/requests/{request_id}/followups"): (READ, "in_service", None),
    ("GET", "/requests/{request_id}/followups/{followup_id}/attachments/{attachment_id}"):
        (READ, "in_service", None),
    ("GET", "/notifications"): ((401, 200, 200, 200, 200, 200, NE, NE, 200, 200), "-", None),
    ("POST", "/notifications/{notification_id}/read"):
        ((401, 200, 404, 404, 404, 404, NE, NE, 404, 404), "-", None),
    # meetings
    ("POST", "/requests/{request_id}/meetings"):
        ((401, 403, 404, 201, 404, 404, NE, NE, COI, 403), "in_service", "meeting"),
    ("GET", "/requests/{request_id}/meetings"): (READ, "in_service", None),
    ("PATCH", "/requests/{request_id}/meetings/{meeting_id}"):
        (ACT, "in_service", "meeting_patch"),
    ("POST", "/requests/{request_id}/meetings/{meeting_id}/cancellation"):
        (ACT, "to_cancel", "cancellation"),
    ("POST", "/requests/{request_id}/meetings/{meeting_id}/guests"):
        ((401, 403, 404, 201, 404, 404, NE, NE, COI, 403), "in_service", "guest"),
    ("POST", "/requests/{request_id}/meetings/{meeting_id}/join"):
        ((401, 200, 404, 200, 404, 404, NE, NE, 403, 403), "in_service", "join"),
    # A guest needs no bearer token: the invite token in the body is the credential.
    ("POST", "/meetings/join"): (PUBLIC, "in_service", "guest_join"),
    # reviews
    ("POST", "/requests/{request_id}/review"):
        ((401, 201, 404, 403, 404, 404, NE, NE, 403, 403), "concluded", "review"),
    ("GET", "/reviews"): ((401, 403, 403, 200, 200, 200, NE, NE, 200, 200), "-", None),
    ("POST", "/reviews/{review_id}/moderation"):
        ((401, 403, 404, 200, 403, 404, NE, NE, COI, 403), "reviewed", "moderation"),
    ("GET", "/reviews/published"): (PUBLIC, "-", None),
}
# Rows where "self" calls on a request of their own: handling it is what they may not do.
HANDLING = frozenset(k for k, (expected, _, _) in MATRIX.items()
                     if expected[ROLES.index("self")] == COI)
# Query strings a route needs to answer at all (not part of the route template).
QUERIES = {("GET", "/reviews/published"): "service_id={service_id}"}


def _routes(platform: Any) -> set[tuple[str, str]]:
    """Every (method, template) the apps serve; /health and /openapi.json are answered by
    the gateway itself, before any app."""
    found = {("GET", "/health"), ("GET", "/openapi.json")}
    for name, app in platform.apps.items():
        for route in inspect.inspect_routes(app):
            if route.path in ("/health", "/openapi.json"):
                continue
            concrete = re.sub(r"\{[^}]+\}", "x1", route.path)
            assert service_for(concrete) == name, f"{route.path} of {name} is routed elsewhere"
            found |= {(m.method, route.path) for m in route.methods if not m.internal}
    return found


def test_the_table_covers_exactly_the_routes(harness: Any) -> None:
    routes = _routes(harness.platform)
    assert sorted(routes - set(MATRIX)) == [], "routes without a row in the matrix"
    assert sorted(set(MATRIX) - routes) == [], "rows for routes no app serves"
    documented = {(op.method, op.path) for svc in harness.platform.services.values()
                  for op in svc.operations}
    assert documented == routes - {("GET", "/health"), ("GET", "/openapi.json")}, \
        "the OpenAPI operations and the routes differ"


@pytest.mark.slow
def test_every_route_for_every_caller(harness: Any) -> None:
    w = build_world(harness)
    body_of = bodies(w)
    wrong: list[str] = []
    calls = 0
    for (method, template), (expected, target, body_name) in MATRIX.items():
        assert len(expected) == len(ROLES), template
        # Refusals first: they must change nothing the allowed callers then act on.
        order = sorted(zip(ROLES, expected, strict=True), key=lambda rs: _status(rs[1]) < 400)
        for role, want in order:
            status, code = (want, None) if isinstance(want, int) else want
            own = role == "self" and (method, template) in HANDLING
            ids = {**w.ids["-"], **w.ids.get(f"self:{target}" if own else target, {})}
            path = template.format(**{k: ids[k] for k in re.findall(r"\{(\w+)\}", template)})
            query = QUERIES.get((method, template), "").format(**ids)
            kw: dict[str, Any] = {"headers": dict(w.headers[role]), "query_string": query}
            if body_name is not None:
                payload = body_of[body_name](role)
                if isinstance(payload, tuple):
                    kw["body"], kw["headers"]["Content-Type"] = payload
                else:
                    kw["json"] = payload
            r = harness.client.simulate_request(method, path, **kw)
            calls += 1
            if r.status_code != status or (code and r.json.get("code") != code):
                wrong.append(f"{method} {template} as {role}: {r.status_code}, "
                             f"expected {want}: {r.text[:160]}")
            elif status >= 400:
                assert r.headers["content-type"] == "application/problem+json", path
    print(f"\nauthorization matrix: {len(MATRIX)} routes x {len(ROLES)} callers, "
          f"{calls} calls")
    assert wrong == [], "\n".join(wrong)


def _status(want: Expected) -> int:
    return want if isinstance(want, int) else want[0]


def test_every_caller_not_enabled_is_refused_on_every_route_that_takes_a_token() -> None:
    """The table itself says it: no column of an attendant off the roster is let in
    anywhere, and nothing but the public routes answers them otherwise."""
    for (method, template), (expected, _, _) in MATRIX.items():
        for role in ("disabled", "never"):
            want = expected[ROLES.index(role)]
            public = expected[ROLES.index("anon")] != 401
            assert want == (200 if public else NE), (method, template, role)


def bodies(w: World) -> dict[str, Callable[[str], Any]]:
    s = w.s
    later = datetime.now(UTC).replace(microsecond=0) + timedelta(days=3)
    slots = iter(range(100))
    return {
        "service": lambda role: {"name": f"Serviço {role}", "unit": s.unit, "form": [],
                                 "steps": []},
        "patch": lambda role: {"description": f"Revisto por {role}"},
        "upload": lambda role: {"filename": "RG.pdf", "content_type": "application/pdf",
                                "size": 1000},
        "enrol": lambda role: {"name": "Novo", "unit": s.unit, "enabled": True},
        "request": lambda role: {"service_id": s.service_id,
                                 "answers": {"nome": "Ana", "cpf": "529.982.247-25"}},
        "document": lambda role: multipart({"key": "rg"}, [("file", "rg.pdf", pdf_bytes())]),
        "step": lambda role: {"ok": True},
        "rejection": lambda role: {"justification": "Documentação incompleta."},
        "approval": lambda role: {"assignee": s.subs["analyst"]},
        "conclusion": lambda role: {"summary": "Concluído."},
        "reassignment": lambda role: {
            "assignee": s.subs["analyst" if role == "registrar" else "assignee"],
            "reason": "Redistribuição da carga de trabalho."},
        "followup": lambda role: {"body": f"Mensagem de {role}"},
        # Each try its own slot: a refused call must fail for who it is, not an overlap.
        "meeting": lambda role: {"starts_at": (later + timedelta(hours=2 * next(slots)))
                                 .isoformat(), "duration_minutes": 30, "subject": role},
        "meeting_patch": lambda role: {"subject": f"Assunto de {role}"},
        "cancellation": lambda role: {"reason": "Imprevisto."},
        "guest": lambda role: {"name": "Gil", "email": "gil@example.com"},
        "join": lambda role: {"display_name": role.title()},
        "guest_join": lambda role: {"invite_token": w.ids["in_service"]["invite_token"],
                                    "display_name": "Gil"},
        "review": lambda role: {"verdict": "approved", "rating": 4},
        "moderation": lambda role: {"decision": "approve"},
    }
