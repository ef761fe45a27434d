"""Issue 14, item 7: images are proven by decoding them, within a pixel budget; the stored
name ends with the proven type's extension and carries no invisible characters."""

from __future__ import annotations

import unicodedata
import zlib
from typing import Any

import pytest

from shared.errors import DomainError
from shared.files import DOCUMENT_TYPES, accept, safe_filename
from tests.helpers import jpeg_bytes, multipart, pdf_bytes, png_bytes, setup_service, stored, submit

MIB = 1 << 20


def _png(width: int, height: int, rows: bytes) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return len(data).to_bytes(4, "big") + body + zlib.crc32(body).to_bytes(4, "big")

    ihdr = width.to_bytes(4, "big") + height.to_bytes(4, "big") + bytes([1, 0, 0, 0, 0])
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(rows, 9))
            + chunk(b"IEND", b""))


def _status(name: str, data: bytes) -> int:
    try:
        accept(name, data, allowed=DOCUMENT_TYPES, max_bytes=10 * MIB)
    except DomainError as refused:
        return refused.status
    return 200


@pytest.mark.parametrize("data", [
    b"\xff\xd8\xff<script>alert(document.cookie)</script>",
    b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 64 + b"\xff\xd9",
    jpeg_bytes()[: len(jpeg_bytes()) // 2],  # truncated
    b"\x89PNG\r\n\x1a\n<html><script>alert(1)</script></html>",
    png_bytes()[:-20] + b"\x00" * 20,  # a damaged chunk
], ids=["jpeg-script", "jpeg-header-only", "jpeg-truncated", "png-script", "png-damaged"])
def test_image_proof_what_only_looks_like_an_image_is_415(data: bytes) -> None:
    assert _status("RG.jpg", data) == 415


def test_image_proof_real_images_are_accepted() -> None:
    assert _status("foto.jpg", jpeg_bytes()) == 200
    assert _status("foto.png", png_bytes()) == 200


def test_image_proof_an_image_over_the_pixel_budget_is_422_before_decoding() -> None:
    # 1-bit, 20000 x 20000: 400 megapixels in a file of some 10 KB.
    side = 20_000
    bomb = _png(side, side, (b"\x00" + b"\x00" * (side // 8)) * side)
    assert len(bomb) < MIB
    with pytest.raises(DomainError, match="larger than 40 megapixels") as refused:
        accept("mapa.png", bomb, allowed=DOCUMENT_TYPES, max_bytes=10 * MIB)
    assert refused.value.status == 422


@pytest.mark.parametrize(("name", "data", "stored_as"), [
    ("RG.hta", jpeg_bytes(), "RG.jpg"),
    ("RG.jpeg", jpeg_bytes(), "RG.jpeg"),
    ("foto", png_bytes(), "foto.png"),
    ("laudo.exe", pdf_bytes(), "laudo.pdf"),
    ("laudo.PDF", pdf_bytes(), "laudo.PDF"),
    ("relatorio.final.v2", pdf_bytes(), "relatorio.final.pdf"),
    ("RG.png.hta", png_bytes(), "RG.png.png"),
])
def test_image_proof_the_stored_name_has_the_proven_types_extension(
        name: str, data: bytes, stored_as: str) -> None:
    up = accept(name, data, allowed=DOCUMENT_TYPES, max_bytes=10 * MIB)
    assert up.filename == stored_as


@pytest.mark.parametrize("name", [
    "RG\u202egpj.hta",  # right-to-left override: shows as "RGath.jpg"
    "RG\u200b.jpg", "\ufeffRG.jpg", "RG\u2066.jpg\u2069", "RG\u0085.jpg", "RG\u2028.jpg",
    "RG\ue000.jpg",
])
def test_image_proof_invisible_characters_are_removed_from_names(name: str) -> None:
    clean = safe_filename(name)
    assert not [c for c in clean if unicodedata.category(c)[0] in "CZ" and c != " "]
    up = accept(name, jpeg_bytes(), allowed=DOCUMENT_TYPES, max_bytes=10 * MIB)
    assert up.filename.startswith("RG") and up.filename.endswith(".jpg")
    assert up.filename in ("RG.jpg", "RGgpj.jpg")


def test_image_proof_through_the_route(harness: Any) -> None:
    s = setup_service(harness)
    rid = submit(harness, s)
    url = f"/requests/{rid}/documents"

    def post(name: str, data: bytes) -> Any:
        body, ctype = multipart({"key": "rg"}, [("file", name, data)])
        return harness.client.simulate_post(url, body=body, headers=s.h(
            "citizen", **{"Content-Type": ctype}))

    before = stored(harness)
    r = post("RG.hta", b"\xff\xd8\xff<script>alert(1)</script>")
    assert r.status_code == 415 and r.json["code"] == "unsupported_media_type"
    assert stored(harness) == before
    r = post("RG\u202egpj.hta", jpeg_bytes())
    assert r.status_code == 201, r.text
    assert (r.json["filename"], r.json["content_type"]) == ("RGgpj.jpg", "image/jpeg")
