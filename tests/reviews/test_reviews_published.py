"""GET /reviews/published: approved comments only, first names only, and the service's
aggregates over every review, kept in a stats item updated with each submission."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from shared.messages import Party
from tests.reviews.reviews_support import SERVICE, concluded_request, people, review


def _published(harness, service_id: str = SERVICE, query: str = ""):
    return harness.client.simulate_get("/reviews/published",
                                       query_string=f"service_id={service_id}{query}")


def test_an_unreviewed_service_has_no_aggregates(harness) -> None:
    r = _published(harness)
    assert r.status_code == 200
    assert r.json == {"items": [], "next_cursor": None, "count": 0, "average_rating": None,
                      "approval_rate": None}


def test_service_id_is_required_and_paging_is_checked(harness) -> None:
    r = harness.client.simulate_get("/reviews/published")
    assert r.status_code == 422 and r.json["errors"][0]["field"] == "service_id"
    assert _published(harness, query="&limit=101").status_code == 422
    assert _published(harness, query="&cursor=%%%").status_code == 422


def test_aggregates_count_every_review_whatever_its_moderation(harness) -> None:
    p = people(harness)
    bodies = [
        {"verdict": "approved", "rating": 5, "comment": "Excelente."},
        {"verdict": "approved", "rating": 4},
        {"verdict": "rejected", "rating": 1, "comment": "Uma merda."},
        {"verdict": "rejected"},
    ]
    for body in bodies:
        assert review(harness, concluded_request(harness), p["citizen"], **body).status_code == 201
    review(harness, concluded_request(harness, service_id="svc-outro"), p["citizen"],
           verdict="rejected", rating=1)
    harness.drain()
    r = _published(harness)
    assert r.json["items"] == []  # nothing approved yet
    assert (r.json["count"], r.json["average_rating"], r.json["approval_rate"]) == (
        4, 10 / 3, 0.5)


def test_only_approved_comments_with_the_first_name_redacted_of_personal_data(harness) -> None:
    p = people(harness)
    citizen = Party(sub="ana", name="Ana Maria Souza", email="ana@example.com")
    ids = {}
    for key, comment in (("clean", "Muito bom, obrigada."),
                         ("cpf", "Meu CPF 529.982.247-25 foi corrigido, ótimo."),
                         ("rejected", "Bom."), ("pending", "Regular.")):
        r = review(harness, concluded_request(harness, citizen=citizen), p["citizen"],
                   verdict="approved", rating=5, comment=comment)
        ids[key] = r.json["id"]
    harness.drain()
    for key, decision in (("clean", "approve"), ("cpf", "approve"), ("rejected", "reject")):
        r = harness.client.simulate_post(f"/reviews/{ids[key]}/moderation",
                                         headers=p["attendant"], json={"decision": decision})
        assert r.status_code == 200
    body = _published(harness).json
    assert [(i["id"], i["comment"]) for i in body["items"]] == [
        (ids["cpf"], "Meu CPF [CPF] foi corrigido, ótimo."),  # newest first, redacted
        (ids["clean"], "Muito bom, obrigada.")]
    assert {i["author"] for i in body["items"]} == {"Ana"}
    text = _published(harness).text
    assert "Souza" not in text and "ana@example.com" not in text and '"ana"' not in text
    assert "529.982" not in text
    assert body["count"] == 4
    # Taking an approval back unpublishes the comment.
    harness.client.simulate_post(f"/reviews/{ids['clean']}/moderation",
                                 headers=p["attendant"], json={"decision": "reject"})
    assert [i["id"] for i in _published(harness).json["items"]] == [ids["cpf"]]


def test_published_pages_with_a_cursor(harness) -> None:
    p = people(harness)
    ids = []
    for n in range(3):
        r = review(harness, concluded_request(harness), p["citizen"], verdict="approved",
                   comment=f"Bom {n}.")
        ids.append(r.json["id"])
    harness.drain()
    for rid in ids:
        harness.client.simulate_post(f"/reviews/{rid}/moderation", headers=p["attendant"],
                                     json={"decision": "approve"})
    first = _published(harness, query="&limit=2").json
    second = _published(harness, query=f"&limit=2&cursor={first['next_cursor']}").json
    assert [i["id"] for i in first["items"] + second["items"]] == ids[::-1]
    assert second["next_cursor"] is None and second["count"] == 3


def test_concurrent_submissions_lose_no_counts(harness) -> None:
    p = people(harness)
    rids = [concluded_request(harness) for _ in range(6)]
    with ThreadPoolExecutor(6) as pool:
        codes = list(pool.map(lambda rid: review(harness, rid, p["citizen"], verdict="approved",
                                                 rating=3).status_code, rids))
    assert codes == [201] * 6
    body = _published(harness).json
    assert (body["count"], body["average_rating"], body["approval_rate"]) == (6, 3.0, 1.0)
    stats = harness.table("reviews").get(f"STATS#{SERVICE}", "STATS")
    assert stats["version"] == 6
