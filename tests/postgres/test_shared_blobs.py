"""Blobs shared by every machine: an S3-compatible store by endpoint URL, here moto's S3 API
server as a real process-like HTTP server on a loopback port. Two platforms with data dirs
of their own (two machines) on one PostgreSQL database and one bucket: a document one of
them takes is served by the other."""

from __future__ import annotations

import urllib.request
from collections.abc import Callable
from typing import Any

import pytest

from infra.ops import create
from shared.blobs_s3 import S3Blobs
from shared.settings import Settings
from tests.helpers import SHARED_SERVERS, pdf_bytes, setup_service, submit

pytestmark = SHARED_SERVERS


def _blob_settings(s3_url: str, **more: Any) -> dict[str, Any]:
    return {"blob_backend": "s3", "blob_endpoint_url": s3_url, "bucket": "atende-docs",
            **more}


def test_the_store_round_trips_by_content_and_refuses_foreign_keys(s3_url: str,
                                                                   pg_url: str) -> None:
    settings = Settings(**_blob_settings(s3_url, table_backend="postgres",
                                         database_url=pg_url))
    assert "bucket atende-docs" in create(settings)  # with the schema, by `ops create`
    assert create(settings) == []
    blobs = S3Blobs(settings, prefix="requests")
    key = blobs.put(b"%PDF-1.4 bytes", "application/pdf")
    assert blobs.get(key) == b"%PDF-1.4 bytes"
    assert S3Blobs(settings, prefix="requests").get(key) == b"%PDF-1.4 bytes"
    with pytest.raises(KeyError):
        blobs.get("0" * 64)
    with pytest.raises(KeyError):
        blobs.get("../../etc/passwd")
    url = blobs.presigned_url(key, filename="Certidão.pdf", content_type="application/pdf")
    with urllib.request.urlopen(url, timeout=10) as resp:
        assert resp.read() == b"%PDF-1.4 bytes"
        assert "attachment" in resp.headers["Content-Disposition"]


def test_a_document_taken_by_one_machine_is_served_by_another(
        s3_url: str, pg_url: str, make_harness: Callable[..., Any], tmp_path: Any) -> None:
    common = _blob_settings(s3_url, table_backend="postgres", database_url=pg_url,
                            database_pool_max=4, jwt_secret="one identity provider " * 2)
    create(Settings(**common))
    one = make_harness(data_dir=tmp_path / "one", **common)
    two = make_harness(data_dir=tmp_path / "two", **common)
    try:
        s = setup_service(one)
        pdf = pdf_bytes()
        rid = submit(one, s, document=pdf)
        doc = two.client.simulate_get(f"/requests/{rid}", headers=s.h("citizen")).json
        r = two.client.simulate_get(f"/requests/{rid}/documents/{doc['documents'][0]['id']}",
                                    headers=s.h("citizen"))
        assert r.status_code == 200 and r.content == pdf
        assert not any((tmp_path / d / "blobs").exists() for d in ("one", "two"))
    finally:
        for h in (one, two):
            h.worker.stop()
            h.platform.broker.close()
            h.platform.close()
