"""Backup and restore as docs/postgres.md tells an operator: the database dumped with
pg_dump, then the bucket copied; both wiped; the database restored with pg_restore and the
bucket copied back; the platform, started afresh on them, carries the flow on."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import psycopg

from infra.ops import create
from shared.blobs_s3 import S3Blobs
from shared.settings import Settings
from tests.helpers import SHARED_SERVERS, approve, conclude, pdf_bytes, setup_service, submit
from tests.postgres.scratch import ADMIN_URL

pytestmark = SHARED_SERVERS


def _bucket(settings: Settings) -> Any:
    return S3Blobs(settings, prefix="").client


def _copy_out(settings: Settings, to: Path) -> int:
    """What `aws s3 sync s3://bucket dir` does."""
    s3, n = _bucket(settings), 0
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=settings.bucket):
        for obj in page.get("Contents", []):
            path = to / obj["Key"]
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(s3.get_object(Bucket=settings.bucket, Key=obj["Key"])["Body"].read())
            n += 1
    return n


def _copy_in(settings: Settings, frm: Path) -> None:
    s3 = _bucket(settings)
    for path in frm.rglob("*"):
        if path.is_file():
            s3.put_object(Bucket=settings.bucket, Key=str(path.relative_to(frm)),
                          Body=path.read_bytes())


def _wipe(settings: Settings, dbname: str) -> None:
    s3 = _bucket(settings)
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=settings.bucket):
        for obj in page.get("Contents", []):
            s3.delete_object(Bucket=settings.bucket, Key=obj["Key"])
    with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE "{dbname}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{dbname}"')


def _stop(h: Any) -> None:
    h.worker.stop()
    h.platform.relay.stop_dispatcher()
    h.platform.broker.close()
    h.platform.close()


def test_dump_wipe_restore_and_the_flow_goes_on(make_harness: Any, pg_url: str, s3_url: str,
                                                tmp_path: Path) -> None:
    common = {"table_backend": "postgres", "database_url": pg_url, "database_pool_max": 4,
              "blob_backend": "s3", "blob_endpoint_url": s3_url, "bucket": "atende-backup",
              "jwt_secret": "the identity provider's key, the same after a restore"}
    settings = Settings(**common)
    create(settings)
    before = make_harness(data_dir=tmp_path / "before", **common)
    s = setup_service(before)
    pdf = pdf_bytes()
    rid = submit(before, s, document=pdf)
    approve(before, s, rid)
    before.drain()
    _stop(before)

    dump, blobs = tmp_path / "atende.dump", tmp_path / "blobs"
    subprocess.run(["pg_dump", "--format=custom", "--file", str(dump), pg_url], check=True)
    assert _copy_out(settings, blobs) == 1  # after the dump: every blob it names is there
    _wipe(settings, psycopg.conninfo.conninfo_to_dict(pg_url)["dbname"])
    with psycopg.connect(pg_url) as conn:
        assert conn.execute("SELECT to_regclass('requests')").fetchone()[0] is None
    subprocess.run(["pg_restore", "--no-owner", "--dbname", pg_url, str(dump)], check=True)
    _copy_in(settings, blobs)

    after = make_harness(data_dir=tmp_path / "after", **common)
    try:
        doc_id = after.client.simulate_get(f"/requests/{rid}", headers=s.h("citizen")
                                           ).json["documents"][0]["id"]
        r = after.client.simulate_get(f"/requests/{rid}/documents/{doc_id}",
                                      headers=s.h("assignee"))
        assert r.status_code == 200 and r.content == pdf
        conclude(after, s, rid)
        after.drain()
        r = after.client.simulate_get(f"/requests/{rid}/timeline", headers=s.h("citizen"))
        kinds = [i["type"] for i in r.json["items"]]
        assert kinds[0] == "RequestSubmitted" and kinds[-1] == "RequestConcluded", kinds
        notes = after.client.simulate_get("/notifications", headers=s.h("citizen")).json
        assert "request_concluded" in [n["kind"] for n in notes["items"]]
    finally:
        _stop(after)
