"""Files are judged by their bytes, never by their names."""

from __future__ import annotations

import io

import pytest
from pypdf import PdfWriter

from shared.errors import PayloadTooLarge, UnsupportedMediaType
from shared.files import DOCUMENT_TYPES, PDF, accept, safe_filename


def pdf_bytes(js: bool = False) -> bytes:
    w = PdfWriter()
    w.add_blank_page(72, 72)
    if js:
        from pypdf.generic import DictionaryObject, NameObject, TextStringObject

        action = DictionaryObject({NameObject("/S"): NameObject("/JavaScript"),
                                   NameObject("/JS"): TextStringObject("app.alert('x');")})
        w._root_object[NameObject("/OpenAction")] = w._add_object(action)
    buf = io.BytesIO()
    w.write(buf)
    return buf.getvalue()


def test_real_pdf_is_told_by_its_bytes() -> None:
    up = accept("digitalizado", pdf_bytes(), allowed=DOCUMENT_TYPES, max_bytes=1 << 20)
    assert up.content_type == PDF and up.filename == "digitalizado.pdf"


@pytest.mark.parametrize("data", [b"hello, I am text", b"%PDF-1.7 but not really a pdf",
                                  b"", b"GIF89a...."])
def test_other_content_is_415(data: bytes) -> None:
    with pytest.raises(UnsupportedMediaType):
        accept("doc.pdf", data, allowed=DOCUMENT_TYPES, max_bytes=1 << 20)


def test_pdf_with_javascript_is_refused() -> None:
    with pytest.raises(UnsupportedMediaType):
        accept("a.pdf", pdf_bytes(js=True), allowed=DOCUMENT_TYPES, max_bytes=1 << 20)


def test_oversize_is_413() -> None:
    with pytest.raises(PayloadTooLarge):
        accept("a.pdf", pdf_bytes(), allowed=DOCUMENT_TYPES, max_bytes=10)


@pytest.mark.parametrize("name,expected", [
    ("../../etc/passwd", "passwd"),
    ("C:\\Windows\\win.ini", "win.ini"),
    ('evil"\r\nX-Header: 1.pdf', "evilX-Header 1.pdf"),
    ("", "file"),
    ("..", "file"),
])
def test_names_are_display_only(name: str, expected: str) -> None:
    assert safe_filename(name) == expected


@pytest.mark.parametrize(("name", "status"), [
    ("laudo.pdf", None),
    ("laudo", None),
    ("laudo.png", None),  # the bytes decide the type, not the name (API.md)
    ("<laudo>;.pdf", None),  # cleaned for display
    ("../laudo.pdf", 422),
    ("..", 422),
    ("C:\\Users\\ana\\laudo.pdf", 422),
    ("a/b.pdf", 422),
    ("a\r\nb.pdf", 422),
    ("a\x00.pdf", 422),
])
def test_a_name_that_is_a_path_or_has_controls_is_refused(name: str, status: int | None) -> None:
    from shared.errors import DomainError

    if status is None:
        up = accept(name, pdf_bytes(), allowed=DOCUMENT_TYPES, max_bytes=10**6)
        assert up.content_type == PDF and "/" not in up.filename and ";" not in up.filename
    else:
        with pytest.raises(DomainError) as err:
            accept(name, pdf_bytes(), allowed=DOCUMENT_TYPES, max_bytes=10**6)
        assert err.value.status == status
