def test_platform_boots(harness):
    r = harness.client.simulate_get("/health")
    assert r.status_code == 200 and r.json == {"status": "ok"}
    r = harness.client.simulate_get("/openapi.json")
    assert r.json["openapi"] == "3.1.0"
    r = harness.client.simulate_get("/nowhere")
    assert r.status_code == 404 and r.headers["content-type"] == "application/problem+json"
