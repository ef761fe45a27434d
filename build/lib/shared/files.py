"""Uploaded files: told by their content, capped in size, named safely."""

from __future__ import annotations

import hashlib
import io
import logging
import re
import unicodedata
from dataclasses import dataclass
from typing import Any

from pypdf import PdfReader
from pypdf.errors import PyPdfError
from pypdf.generic import ArrayObject, DictionaryObject, IndirectObject

from shared.errors import PayloadTooLarge, UnsupportedMediaType, ValidationFailed

PDF, PNG, JPEG = "application/pdf", "image/png", "image/jpeg"
DOCUMENT_TYPES = frozenset({PDF, PNG, JPEG})

logging.getLogger("pypdf").setLevel(logging.ERROR)


@dataclass(frozen=True)
class Upload:
    filename: str
    content_type: str
    data: bytes

    @property
    def size(self) -> int:
        return len(self.data)

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


def sniff(data: bytes) -> str | None:
    """The media type the bytes really are, among those we accept."""
    if data.startswith(b"%PDF-"):
        return PDF
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if data.startswith(b"\xff\xd8\xff"):
        return JPEG
    return None


def is_real_pdf(data: bytes) -> bool:
    """A PDF that parses, with at least one page, and no JavaScript or auto-actions."""
    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        if len(reader.pages) < 1:
            return False
        root: Any = reader.trailer["/Root"]
        if "/OpenAction" in root or "/AA" in root:
            return False
        names = root.get("/Names")
        if names is not None and "/JavaScript" in names.get_object():
            return False
        return not _has_script(reader.trailer.raw_get("/Root"))
    except (PyPdfError, ValueError, KeyError, TypeError, AttributeError, RecursionError, OSError):
        return False
    except Exception:  # pypdf raises assorted errors on hostile input; none is ours
        return False


_SCRIPTED = frozenset({"/JavaScript", "/Launch"})
_WALK_BUDGET = 200_000


def _has_script(root: Any) -> bool:
    """JavaScript or a launch action anywhere reachable from the catalog: pages' actions,
    annotations, form fields, outlines. Bounded: a document too large to walk is refused."""
    seen: set[tuple[int, int]] = set()
    stack: list[Any] = [root]
    budget = _WALK_BUDGET
    while stack:
        budget -= 1
        if budget < 0:
            return True
        obj = stack.pop()
        if isinstance(obj, IndirectObject):
            ref = (obj.idnum, obj.generation)
            if ref in seen:
                continue
            seen.add(ref)
            obj = obj.get_object()
        if isinstance(obj, DictionaryObject):
            if "/JS" in obj or "/JavaScript" in obj or obj.get("/S") in _SCRIPTED:
                return True
            stack.extend(obj.values())  # raw values: indirect references stay references
        elif isinstance(obj, ArrayObject):
            stack.extend(obj)
    return False


def safe_filename(name: str | None, fallback: str = "file") -> str:
    """A display name only (never a path): no directories, controls or quotes."""
    name = unicodedata.normalize("NFC", name or "")
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = re.sub(r'[\x00-\x1f\x7f"<>|:*?;]', "", name).strip(" .")
    return name[:200] or fallback


_NOT_PLAIN = re.compile(r"[/\\\x00-\x1f\x7f]")


def _check_plain_name(filename: str | None) -> None:
    """A name is for display. One that is a path or carries line breaks is refused, not
    cleaned: it is an attack or a confused client, and nothing of it should be kept.
    The type is not taken from the name or the declared type: the bytes decide (API.md)."""
    name = filename or ""
    if _NOT_PLAIN.search(name) or name.startswith(".."):
        raise ValidationFailed.field(
            "file", "file name must be a plain name, without directories or control characters")


def accept(
    filename: str | None, data: bytes, *, allowed: frozenset[str], max_bytes: int
) -> Upload:
    """Judge an uploaded file by its bytes: 413 if too large, 415 if not an allowed type
    (whatever its name or declared type say), 422 if its name is a path."""
    if len(data) > max_bytes:
        raise PayloadTooLarge(f"file larger than {max_bytes} bytes")
    kind = sniff(data)
    if kind not in allowed:
        raise UnsupportedMediaType(
            "file must be one of: " + ", ".join(sorted(t.split("/")[1].upper() for t in allowed))
        )
    if kind == PDF and not is_real_pdf(data):
        raise UnsupportedMediaType("file is not a valid PDF")
    _check_plain_name(filename)
    return Upload(safe_filename(filename), kind, data)
