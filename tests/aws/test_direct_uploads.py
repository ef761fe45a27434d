"""Documents straight to and from S3, under moto, through the Lambda handlers: the
presigned POST and its conditions (S3's check of them: tests/aws/s3_post.py), the file
judged after it was uploaded and before it is attached, and large downloads redirected
to a presigned GET after the same authorization."""

from __future__ import annotations

import base64
import io
import json
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import requests
from pypdf import PdfWriter

from services.requests import handlers
from shared.aws import client
from shared.settings import Settings
from tests.aws.conftest import aws_environment, aws_settings
from tests.aws.harness import AwsHarness
from tests.aws.s3_post import post_file
from tests.helpers import Setup, multipart, pdf_bytes, setup_service, submit, to_state

CAP = 64 * 1024  # the size cap, small enough to post past it cheaply
REDIRECT = 2000  # files over this many bytes are served from S3


@pytest.fixture(scope="module")
def aws(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    settings = aws_settings(tmp_path_factory.mktemp("aws"), max_file_bytes=CAP,
                            blob_redirect_bytes=REDIRECT)
    with aws_environment(settings) as s:
        yield s


@pytest.fixture(scope="module")
def h(aws: Settings) -> AwsHarness:
    return AwsHarness(aws)


@pytest.fixture(scope="module")
def s(h: AwsHarness) -> Setup:
    return setup_service(h)


@pytest.fixture
def rid(h: AwsHarness, s: Setup) -> str:
    return submit(h, s)


def big_pdf() -> bytes:
    """A real PDF over the redirect threshold and under the cap."""
    writer = PdfWriter()
    for _ in range(60):
        writer.add_blank_page(612, 792)
    out = io.BytesIO()
    writer.write(out)
    data = out.getvalue()
    assert REDIRECT < len(data) < CAP
    return data


def open_slot(h: AwsHarness, s: Setup, rid: str, **body: Any) -> Any:
    body = {"key": "rg", "filename": "RG.pdf", "content_type": "application/pdf",
            "size": 5000, **body}
    return h.client.simulate_post(f"/requests/{rid}/documents/uploads", json=body,
                                  headers=s.h("citizen"))


def complete(h: AwsHarness, s: Setup, rid: str, upload_id: str, who: str = "citizen") -> Any:
    return h.client.simulate_post(f"/requests/{rid}/documents/uploads/{upload_id}",
                                  headers=s.h(who))


def uploaded(aws: Settings, upload_id: str) -> bool:
    listing = client(aws, "s3").list_objects_v2(Bucket=aws.bucket,
                                                Prefix=f"requests/uploads/{upload_id}")
    return listing.get("KeyCount", 0) > 0


def test_the_slot_is_a_presigned_post_pinning_key_size_and_type(h: AwsHarness, s: Setup,
                                                                 rid: str) -> None:
    r = open_slot(h, s, rid)
    assert r.status_code == 201, r.text
    slot = r.json
    fields = slot["fields"]
    assert fields["key"] == f"requests/uploads/{slot['upload_id']}"  # ours, not the name
    assert fields["Content-Type"] == "application/pdf"
    conditions = json.loads(base64.b64decode(fields["policy"]))["conditions"]
    assert ["content-length-range", 1, CAP] in conditions
    assert {"Content-Type": "application/pdf"} in conditions
    assert {"key": fields["key"]} in conditions
    assert {"x-amz-server-side-encryption": "AES256"} in conditions
    assert slot["url"].startswith("https://atende-test-blobs.s3")


def test_s3_refuses_a_file_over_the_cap_a_wrong_type_or_another_key(
        h: AwsHarness, s: Setup, rid: str, aws: Settings) -> None:
    slot = open_slot(h, s, rid).json
    url, fields = slot["url"], slot["fields"]
    assert post_file(url, fields, b"%PDF-" + b"x" * CAP)[0] == 400  # EntityTooLarge
    assert post_file(url, {**fields, "Content-Type": "text/html"}, pdf_bytes())[0] == 403
    other = {**fields, "key": "requests/00/" + "0" * 64}  # over a stored blob
    assert post_file(url, other, pdf_bytes())[0] == 403
    assert not uploaded(aws, slot["upload_id"])
    assert complete(h, s, rid, slot["upload_id"]).json["code"] == "conflict"  # nothing yet


def test_the_slot_refuses_what_it_can_tell_beforehand(h: AwsHarness, s: Setup,
                                                      rid: str) -> None:
    assert open_slot(h, s, rid, size=CAP + 1).status_code == 413
    assert open_slot(h, s, rid, content_type="text/html").status_code == 415
    r = open_slot(h, s, rid, filename="../../etc/passwd")
    assert (r.status_code, r.json["errors"][0]["field"]) == (422, "file")
    assert open_slot(h, s, rid, key="cpf").status_code == 422
    assert open_slot(h, s, rid, size=0).status_code == 422
    r = h.client.simulate_post(f"/requests/{rid}/documents/uploads", headers=s.h("analyst"),
                               json={"filename": "RG.pdf", "content_type": "application/pdf",
                                     "size": 10})
    assert r.status_code == 403


def test_a_fake_pdf_is_refused_after_the_upload_and_deleted(h: AwsHarness, s: Setup,
                                                            rid: str, aws: Settings) -> None:
    slot = open_slot(h, s, rid).json
    fake = b"%PDF-1.7\n<script>alert(1)</script>\n%%EOF\n"  # a PDF by its first bytes only
    assert post_file(slot["url"], slot["fields"], fake)[0] == 204  # S3 cannot tell
    assert uploaded(aws, slot["upload_id"])
    r = complete(h, s, rid, slot["upload_id"])
    assert r.status_code in (415, 422), r.text
    assert r.headers["content-type"] == "application/problem+json"
    assert not uploaded(aws, slot["upload_id"])
    request = h.client.simulate_get(f"/requests/{rid}", headers=s.h("citizen")).json
    assert request["documents"] == []
    assert complete(h, s, rid, slot["upload_id"]).status_code == 409


def test_a_good_pdf_is_attached_once_and_downloaded_by_redirect(
        h: AwsHarness, s: Setup, rid: str, aws: Settings) -> None:
    data = big_pdf()
    slot = open_slot(h, s, rid, filename="RG escaneado.hta", size=len(data)).json
    assert post_file(slot["url"], slot["fields"], data)[0] == 204
    r = complete(h, s, rid, slot["upload_id"])
    assert r.status_code == 201, r.text
    doc = r.json
    assert (doc["key"], doc["filename"], doc["content_type"], doc["size"]) == (
        "rg", "RG escaneado.pdf", "application/pdf", len(data))
    assert not uploaded(aws, slot["upload_id"])  # stored under its hash, the slot's gone
    again = complete(h, s, rid, slot["upload_id"])
    assert (again.status_code, again.json) == (201, doc)
    request = h.client.simulate_get(f"/requests/{rid}", headers=s.h("citizen")).json
    assert [d["id"] for d in request["documents"]] == [doc["id"]]
    timeline = h.client.simulate_get(f"/requests/{rid}/timeline", headers=s.h("citizen")).json
    assert sum(e["type"] == "DocumentAdded" for e in timeline["items"]) == 1

    path = f"/requests/{rid}/documents/{doc['id']}"
    assert h.client.simulate_get(path, headers=s.h("other_citizen")).status_code == 404
    r = h.client.simulate_get(path, headers=s.h("analyst"))
    assert r.status_code == 307 and r.content == b""
    assert r.headers["cache-control"] == "no-store"
    got = requests.get(r.headers["location"], timeout=10)
    assert got.status_code == 200 and got.content == data
    assert "RG%20escaneado.pdf" in r.headers["location"]  # served as an attachment


def test_small_files_keep_streaming(h: AwsHarness, s: Setup, rid: str) -> None:
    body, ctype = multipart({"key": "rg"}, [("file", "rg.pdf", pdf_bytes())])
    r = h.client.simulate_post(f"/requests/{rid}/documents", body=body,
                               headers=s.h("citizen", **{"Content-Type": ctype}))
    assert r.status_code == 201, r.text
    got = h.client.simulate_get(f"/requests/{rid}/documents/{r.json['id']}",
                                headers=s.h("citizen"))
    assert got.status_code == 200 and got.content == pdf_bytes()


def test_only_the_citizen_completes_their_slot(h: AwsHarness, s: Setup, rid: str) -> None:
    slot = open_slot(h, s, rid).json
    assert complete(h, s, rid, slot["upload_id"], who="other_citizen").status_code == 404
    assert complete(h, s, rid, slot["upload_id"], who="analyst").status_code == 403
    assert complete(h, s, rid, "01nosuchupload0000000000").status_code == 404


def test_two_completions_at_once_attach_the_file_once(
        h: AwsHarness, s: Setup, rid: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The first completion is held inside its unit of work, after it read the slot, while
    a second one runs whole: the first then loses the slot's version check, is retried on
    fresh state and answers the second's document. (Held, not merely run in two threads:
    moto's DynamoDB does not make a transaction's checks and writes one step.)"""
    slot = open_slot(h, s, rid).json
    assert post_file(slot["url"], slot["fields"], pdf_bytes())[0] == 204
    inside, second_done = threading.Event(), threading.Event()
    add_document = handlers.add_document

    def held(*args: Any) -> Any:
        out = add_document(*args)
        if not inside.is_set():
            inside.set()
            assert second_done.wait(30)
        return out

    monkeypatch.setattr(handlers, "add_document", held)
    with ThreadPoolExecutor(1) as pool:
        first = pool.submit(complete, h, s, rid, slot["upload_id"])
        assert inside.wait(30)
        second = complete(h, s, rid, slot["upload_id"])
        second_done.set()
        answers = [first.result(), second]
    assert [a.status_code for a in answers] == [201, 201], [a.text for a in answers]
    assert answers[0].json == answers[1].json
    request = h.client.simulate_get(f"/requests/{rid}", headers=s.h("citizen")).json
    assert [d["id"] for d in request["documents"]] == [answers[0].json["id"]]


def test_a_large_follow_up_attachment_is_downloaded_by_redirect(h: AwsHarness,
                                                                s: Setup) -> None:
    rid = to_state(h, s, "in_service")
    h.drain()
    data = big_pdf()
    form, ctype = multipart({"body": "Segue o formulário."}, [("file", "form.pdf", data)])
    r = h.client.simulate_post(f"/requests/{rid}/followups", body=form,
                               headers=s.h("assignee", **{"Content-Type": ctype}))
    assert r.status_code == 201, r.text
    path = (f"/requests/{rid}/followups/{r.json['id']}/attachments/"
            f"{r.json['attachments'][0]['id']}")
    assert h.client.simulate_get(path, headers=s.h("other_citizen")).status_code == 404
    r = h.client.simulate_get(path, headers=s.h("citizen"))
    assert r.status_code == 307, r.text
    assert requests.get(r.headers["location"], timeout=10).content == data


def test_redirects_are_off_by_default_on_a_store_of_ones_own() -> None:
    # Its endpoint (http://minio:9000 in docs/postgres.md) may be out of clients' reach.
    assert Settings(blob_backend="s3").redirect_bytes == 4 * 1024 * 1024
    own = {"blob_backend": "s3", "blob_endpoint_url": "http://minio:9000"}
    assert Settings(**own).redirect_bytes == 0
    assert Settings(**own, blob_redirect_bytes=10).redirect_bytes == 10
    assert Settings(blob_backend="s3", blob_redirect_bytes=0).redirect_bytes == 0
