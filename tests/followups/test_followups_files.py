"""Follow-ups with files: judged by content, capped in size and number, downloaded with the
stored type; a bad file refuses the whole post and nothing is stored."""

from __future__ import annotations

from typing import Any

import pytest

from shared.ids import new_id
from tests.followups.followups_support import to_state, token
from tests.helpers import jpeg_bytes, multipart, pdf_bytes, png_bytes

JPEG = jpeg_bytes()


def _stored(h: Any) -> tuple[int, int]:
    table = h.table("followups")
    rows = table.db.connection().execute(
        f'SELECT count(*) FROM "{table.name}" WHERE pk LIKE \'REQ#%\' AND sk != \'VIEW\''
    ).fetchone()[0]
    root = h.platform.settings.data_dir / "blobs" / "followups"
    blobs = sum(1 for p in root.rglob("*") if p.is_file()) if root.exists() else 0
    return rows, blobs


def _post(h: Any, rid: str, files: list[tuple[str, str, bytes]], who: str = "citizen",
          fields: dict[str, str] | None = None) -> Any:
    body, ctype = multipart({"body": "Segue em anexo."} if fields is None else fields, files)
    return h.client.simulate_post(f"/requests/{rid}/followups", body=body,
                                  headers={**token(h, who), "Content-Type": ctype})


def _in_service(h: Any) -> str:
    rid = new_id()
    to_state(h, rid, "in_service")
    return rid


def test_pdf_png_and_jpeg_are_stored_and_downloaded(harness: Any) -> None:
    rid = _in_service(harness)
    pdf, png = pdf_bytes(), png_bytes()
    r = _post(harness, rid, [("file", "laudo.pdf", pdf), ("file", "foto.png", png),
                             ("file", "foto.jpg", JPEG)])
    assert r.status_code == 201, r.text
    atts = r.json["attachments"]
    assert [(a["filename"], a["content_type"], a["size"]) for a in atts] == [
        ("laudo.pdf", "application/pdf", len(pdf)), ("foto.png", "image/png", len(png)),
        ("foto.jpg", "image/jpeg", len(JPEG))]
    fid = r.json["id"]
    for att, data in zip(atts, (pdf, png, JPEG), strict=True):
        url = f"/requests/{rid}/followups/{fid}/attachments/{att['id']}"
        for who in ("citizen", "assignee", "registrar"):
            got = harness.client.simulate_get(url, headers=token(harness, who))
            assert got.status_code == 200, got.text
            assert got.content == data
            assert got.headers["content-type"] == att["content_type"]
            assert got.headers["content-disposition"].startswith("attachment;")
            assert att["filename"] in got.headers["content-disposition"]
        hidden = harness.client.simulate_get(url, headers=token(harness, "other_citizen"))
        assert hidden.status_code == 404
    history = harness.client.simulate_get(f"/requests/{rid}/followups",
                                          headers=token(harness, "assignee"))
    assert history.json["items"][0]["attachments"] == atts


def test_unknown_or_mismatched_attachment_is_404(harness: Any) -> None:
    rid = _in_service(harness)
    r = _post(harness, rid, [("file", "a.pdf", pdf_bytes())])
    fid, aid = r.json["id"], r.json["attachments"][0]["id"]
    h = token(harness, "citizen")
    base = f"/requests/{rid}/followups"
    assert harness.client.simulate_get(f"{base}/{fid}/attachments/nope", headers=h
                                       ).status_code == 404
    assert harness.client.simulate_get(f"{base}/other/attachments/{aid}", headers=h
                                       ).status_code == 404
    other = _in_service(harness)
    assert harness.client.simulate_get(
        f"/requests/{other}/followups/{fid}/attachments/{aid}", headers=h).status_code == 404


@pytest.mark.parametrize(("files", "status", "code"), [
    ([("file", "nota.txt", b"apenas texto")], 415, "unsupported_media_type"),
    ([("file", "disfarce.pdf", b"isto e texto, nao um PDF")], 415, "unsupported_media_type"),
    ([("file", "falso.pdf", b"%PDF-1.7\nlixo que nao e pdf\n%%EOF")], 415,
     "unsupported_media_type"),
    ([("file", "ok.png", png_bytes()), ("file", "x.gif", b"GIF89a....")], 415,
     "unsupported_media_type"),
    ([("file", "grande.png", png_bytes() + b"\x00" * 4096)], 413, "payload_too_large"),
    ([("file", f"f{n}.png", png_bytes()) for n in range(4)], 413, "payload_too_large"),
])
def test_bad_files_refuse_the_post_and_store_nothing(make_harness: Any, files: Any,
                                                     status: int, code: str) -> None:
    h = make_harness(max_file_bytes=2048, max_files_per_post=3)
    rid = _in_service(h)
    r = _post(h, rid, files)
    assert r.status_code == status, r.text
    assert r.json["code"] == code
    assert _stored(h) == (0, 0)


def test_bad_form_fields(harness: Any) -> None:
    rid = _in_service(harness)
    png = [("file", "a.png", png_bytes())]
    r = _post(harness, rid, png, fields={})
    assert r.status_code == 422
    assert r.json["errors"][0]["field"] == "body"
    r = _post(harness, rid, png, fields={"body": "oi", "author": "x"})
    assert r.status_code == 422
    r = _post(harness, rid, [("documento", "a.png", png_bytes())])
    assert r.status_code == 422
    assert _stored(harness) == (0, 0)


def test_files_of_a_refused_caller_are_never_looked_at(harness: Any) -> None:
    rid = _in_service(harness)
    # Even a bad file gets the 404 the request's visibility calls for, not a 415.
    r = _post(harness, rid, [("file", "x.txt", b"texto")], who="other_citizen")
    assert r.status_code == 404
    r = _post(harness, rid, [("file", "a.png", png_bytes())], who="colleague")
    assert r.status_code == 403
    assert _stored(harness) == (0, 0)


def test_multipart_without_files_is_a_plain_message(harness: Any) -> None:
    rid = _in_service(harness)
    r = _post(harness, rid, [], who="assignee", fields={"body": "Sem anexo."})
    assert r.status_code == 201, r.text
    assert r.json["attachments"] == []
