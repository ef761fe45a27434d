"""Uploaded files: told by their content, capped in size, named safely."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass

from shared.errors import PayloadTooLarge, UnsupportedMediaType, ValidationFailed
from shared.judge import Judge, default_judge
from shared.judging import JPEG as JPEG
from shared.judging import PDF as PDF
from shared.judging import PNG as PNG

DOCUMENT_TYPES = frozenset({PDF, PNG, JPEG})
# The extension a stored name ends with, by proven type; the first is the one given.
EXTENSIONS = {PDF: (".pdf",), PNG: (".png",), JPEG: (".jpg", ".jpeg")}


@dataclass
class FilePart:
    """One file of a multipart body as it arrived: not yet judged."""

    name: str
    filename: str | None
    data: bytes


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


# Controls, format characters (U+202E's right-to-left override, U+200B's zero width),
# line and paragraph separators, surrogates, private use and unassigned code points: none
# belongs in a name shown to people, and each can make it read as something it is not.
_INVISIBLE = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})


def safe_filename(name: str | None, fallback: str = "file") -> str:
    """A display name only (never a path): no directories, controls, invisible characters
    or quotes."""
    name = unicodedata.normalize("NFC", name or "")
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(c for c in name if unicodedata.category(c) not in _INVISIBLE)
    name = re.sub(r'["<>|:*?;]', "", name).strip(" .")
    return name[:200] or fallback


_EXTENSION = re.compile(r"\.[A-Za-z0-9]{1,5}$")


def proven_filename(name: str, kind: str) -> str:
    """``name`` ending with the extension of the type its bytes proved: ``RG.hta`` holding
    a JPEG is stored as ``RG.jpg``, so no program opens it as what its name claimed."""
    allowed = EXTENSIONS[kind]
    if name.lower().endswith(allowed):
        return name
    stem = _EXTENSION.sub("", name).rstrip(" .") or "file"
    return stem[:195] + allowed[0]


_NOT_PLAIN = re.compile(r"[/\\\x00-\x1f\x7f]")


def check_plain_name(filename: str | None) -> None:
    """A name is for display. One that is a path or carries line breaks is refused, not
    cleaned: it is an attack or a confused client, and nothing of it should be kept.
    The type is not taken from the name or the declared type: the bytes decide (API.md)."""
    name = filename or ""
    if _NOT_PLAIN.search(name) or name.startswith(".."):
        raise ValidationFailed.field(
            "file", "file name must be a plain name, without directories or control characters")


def accept(
    filename: str | None, data: bytes, *, allowed: frozenset[str], max_bytes: int,
    judge: Judge | None = None,
) -> Upload:
    """Judge an uploaded file by its bytes: 413 if too large, 415 if not an allowed type
    (whatever its name or declared type say) or not a whole one, 422 if its name is a path
    or judging it would take more than its budget (``shared.judge``)."""
    if len(data) > max_bytes:
        raise PayloadTooLarge(f"file larger than {size_text(max_bytes)} (ATENDE_MAX_FILE_BYTES)")
    kind = sniff(data)
    if kind not in allowed:
        raise UnsupportedMediaType(
            "file must be one of: " + ", ".join(sorted(t.split("/")[1].upper() for t in allowed))
        )
    check_plain_name(filename)
    (judge or default_judge()).judge(kind, data)
    return Upload(proven_filename(safe_filename(filename), kind), kind, data)


def size_text(size: int) -> str:
    """A cap in MiB, as the settings' docs give them: ``10 MiB``, ``50.06 MiB``; a small
    one also in the unit it was likely set in: ``0.06 MiB (64 KiB)``."""
    mib = f"{size / (1 << 20):.4g} MiB" if size >= 1 << 20 else f"{size / (1 << 20):.2g} MiB"
    if size >= 1 << 20:
        return mib
    return f"{mib} ({size / 1024:.4g} KiB)" if size >= 1024 else f"{mib} ({size} bytes)"
