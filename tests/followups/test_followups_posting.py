"""Posting and reading follow-ups through the gateway: who may, in which state, with what
status code; bad bodies; Idempotency-Key; the history's order and paging. The request is
put in each state by feeding its events to the followups consumer."""

from __future__ import annotations

from typing import Any

import pytest

from shared.ids import new_id
from shared.messages import Party
from tests.followups.followups_support import approved, feed, inbox, to_state, token


def _url(rid: str) -> str:
    return f"/requests/{rid}/followups"


def _rows(h: Any) -> int:
    table = h.table("followups")
    return table.db.connection().execute(
        f'SELECT count(*) FROM "{table.name}" WHERE pk LIKE \'REQ#%\' AND sk != \'VIEW\''
    ).fetchone()[0]


def _post(h: Any, rid: str, who: str, body: Any = None, **headers: str) -> Any:
    return h.client.simulate_post(_url(rid), json={"body": "Bom dia."} if body is None
                                  else body, headers={**token(h, who), **headers})


@pytest.fixture
def rid(harness: Any) -> str:
    rid = new_id()
    to_state(harness, rid, "in_service")
    return rid


def test_citizen_and_assignee_post_and_both_read_the_history(harness: Any, rid: str) -> None:
    r = _post(harness, rid, "citizen", {"body": "  Enviei os documentos.  "})
    assert r.status_code == 201, r.text
    first = r.json
    assert first["request_id"] == rid
    assert first["author"] == {"sub": "carla", "name": "Carla Cidadã", "role": "citizen"}
    assert first["body"] == "Enviei os documentos."
    assert first["attachments"] == []
    r = _post(harness, rid, "assignee", {"body": "Recebido, obrigado."})
    assert r.status_code == 201, r.text
    assert r.json["author"]["role"] == "attendant"
    for who in ("citizen", "assignee", "colleague", "registrar"):
        r = harness.client.simulate_get(_url(rid), headers=token(harness, who))
        assert r.status_code == 200, (who, r.text)
        assert [i["body"] for i in r.json["items"]] == ["Enviei os documentos.",
                                                        "Recebido, obrigado."]
        assert r.json["items"][0] == first
        assert r.json["next_cursor"] is None


def test_history_is_oldest_first_in_pages(harness: Any, rid: str) -> None:
    for n in range(5):
        assert _post(harness, rid, "citizen" if n % 2 else "assignee",
                     {"body": f"mensagem {n}"}).status_code == 201
    seen, cursor = [], None
    while True:
        url = _url(rid) + "?limit=2" + (f"&cursor={cursor}" if cursor else "")
        r = harness.client.simulate_get(url, headers=token(harness, "citizen"))
        assert r.status_code == 200
        assert len(r.json["items"]) <= 2
        seen += [i["body"] for i in r.json["items"]]
        cursor = r.json["next_cursor"]
        if cursor is None:
            break
    assert seen == [f"mensagem {n}" for n in range(5)]
    r = harness.client.simulate_get(_url(rid) + "?cursor=bad!", headers=token(harness, "citizen"))
    assert r.status_code == 422
    r = harness.client.simulate_get(_url(rid) + "?limit=0", headers=token(harness, "citizen"))
    assert r.status_code == 422


@pytest.mark.parametrize("state", ["submitted", "in_analysis", "rejected", "concluded"])
def test_posting_outside_in_service_is_409(harness: Any, state: str) -> None:
    rid = new_id()
    to_state(harness, rid, state)
    for who in ("citizen", "assignee"):
        r = _post(harness, rid, who)
        assert r.status_code == 409, r.text
        assert r.json["code"] == "invalid_transition"
    assert _rows(harness) == 0
    # Reading the history stays open to the participants.
    assert harness.client.simulate_get(_url(rid), headers=token(harness, "citizen")
                                       ).status_code == 200


@pytest.mark.parametrize("who", ["other_citizen", "other_unit", "other_org"])
def test_who_may_not_see_the_request_gets_404(harness: Any, rid: str, who: str) -> None:
    r = _post(harness, rid, who)
    assert r.status_code == 404, r.text
    assert r.json["code"] == "not_found"
    r = harness.client.simulate_get(_url(rid), headers=token(harness, who))
    assert r.status_code == 404
    assert _rows(harness) == 0


@pytest.mark.parametrize("who", ["colleague", "registrar", "analyst"])
def test_staff_who_see_but_are_not_the_assignee_get_403(harness: Any, rid: str,
                                                        who: str) -> None:
    r = _post(harness, rid, who)
    assert r.status_code == 403, r.text
    assert r.json["code"] == "forbidden"
    assert _rows(harness) == 0


def test_unknown_request_is_404_and_no_token_is_401(harness: Any) -> None:
    r = _post(harness, new_id(), "citizen")
    assert r.status_code == 404
    r = harness.client.simulate_get(_url(new_id()), headers=token(harness, "assignee"))
    assert r.status_code == 404
    r = harness.client.simulate_post(_url(new_id()), json={"body": "x"})
    assert r.status_code == 401
    assert harness.client.simulate_get("/notifications").status_code == 401


def test_reassignment_moves_the_right_to_post(harness: Any, rid: str) -> None:
    other = Party(sub="caio", name="Caio", email=None)
    event = approved(rid, assignee=other)
    newer = event.model_copy(update={"request": event.request.model_copy(
        update={"version": 7})})
    feed(harness, newer)
    assert _post(harness, rid, "assignee").status_code == 403
    assert _post(harness, rid, "colleague").status_code == 201


@pytest.mark.parametrize(("body", "status", "field"), [
    ({"body": ""}, 422, "body"),
    ({"body": "   "}, 422, "body"),
    ({"body": "x" * 5001}, 422, "body"),
    ({"body": 12}, 422, "body"),
    ({}, 422, "body"),
    ({"body": "ok", "author": "eu"}, 422, "author"),
])
def test_bad_bodies_are_refused_and_nothing_stored(harness: Any, rid: str, body: Any,
                                                  status: int, field: str) -> None:
    r = _post(harness, rid, "citizen", body)
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json["code"] == "validation"
    assert field in [e["field"] for e in r.json["errors"]]
    assert _rows(harness) == 0


def test_not_json_and_malformed_json(harness: Any, rid: str) -> None:
    h = token(harness, "citizen")
    r = harness.client.simulate_post(_url(rid), body="body=oi",
                                     headers={**h, "Content-Type": "text/plain"})
    assert r.status_code == 415
    r = harness.client.simulate_post(_url(rid), body="{nope",
                                     headers={**h, "Content-Type": "application/json"})
    assert r.status_code == 400
    assert _rows(harness) == 0


def test_idempotency_key_replays_and_refuses_another_body(harness: Any, rid: str) -> None:
    first = _post(harness, rid, "citizen", {"body": "uma vez"}, **{"Idempotency-Key": "k1"})
    again = _post(harness, rid, "citizen", {"body": "uma vez"}, **{"Idempotency-Key": "k1"})
    assert first.status_code == again.status_code == 201
    assert again.json == first.json
    assert again.headers.get("idempotent-replayed") == "true"
    other = _post(harness, rid, "citizen", {"body": "outra"}, **{"Idempotency-Key": "k1"})
    assert other.status_code == 409
    assert other.json["code"] == "idempotency_key_reused"
    r = harness.client.simulate_get(_url(rid), headers=token(harness, "citizen"))
    assert [i["body"] for i in r.json["items"]] == ["uma vez"]
    harness.drain()
    assert [n["kind"] for n in inbox(harness, "bia")].count("followup_posted") == 1
