"""Hostile PDFs, built on the fly: small files that cost a naive checker minutes and
gigabytes. Nothing large is committed; each builder returns the bytes."""

from __future__ import annotations

import struct
import zlib

_HEADER = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n"
_CATALOG_AND_PAGE = {
    2: b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
    3: b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 72 72] >>",
}


def _assemble(objects: dict[int, bytes], packed: dict[int, tuple[int, int]],
              extra_root: bytes) -> bytes:
    """A PDF with a cross-reference stream: ``objects`` stand alone, ``packed`` objects
    live in object streams (number -> (stream number, index))."""
    objects = {1: b"<< /Type /Catalog /Pages 2 0 R " + extra_root + b" >>",
               **_CATALOG_AND_PAGE, **objects}
    out = bytearray(_HEADER)
    offsets: dict[int, int] = {}
    for number, body in sorted(objects.items()):
        offsets[number] = len(out)
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    size = max([*objects, *packed]) + 2
    xref_number, xref_offset = size - 1, len(out)
    rows = bytearray()
    for number in range(size):
        if number in offsets:
            rows += struct.pack(">BIH", 1, offsets[number], 0)
        elif number in packed:
            rows += struct.pack(">BIH", 2, *packed[number])
        elif number == xref_number:
            rows += struct.pack(">BIH", 1, xref_offset, 0)
        else:
            rows += struct.pack(">BIH", 0, 0, 65535)
    out += (b"%d 0 obj\n<< /Type /XRef /Size %d /W [1 4 2] /Root 1 0 R /Length %d >>\n"
            b"stream\n" % (xref_number, size, len(rows)))
    out += rows + b"\nendstream\nendobj\n"
    out += b"startxref\n%d\n%%%%EOF\n" % xref_offset
    return bytes(out)


def _deflate_run(byte: bytes, count: int, tail: bytes) -> bytes:
    """``byte`` repeated ``count`` times then ``tail``, zlib-compressed a megabyte at a
    time (the run is never held whole in memory)."""
    comp = zlib.compressobj(9)
    chunk = byte * (1 << 20)
    parts = [comp.compress(chunk) for _ in range(count >> 20)]
    parts += [comp.compress(byte * (count & ((1 << 20) - 1)) + tail), comp.flush()]
    return b"".join(parts)


def _object_stream(content_z: bytes, first: int) -> bytes:
    return (b"<< /Type /ObjStm /N 1 /First %d /Filter /FlateDecode /Length %d >>\nstream\n"
            % (first, len(content_z)) + content_z + b"\nendstream")


def object_stream_bomb(streams: int = 3, inflated: int = 70_000_000) -> bytes:
    """Object streams of whitespace before their one object: a parser that skips
    whitespace a byte at a time, after inflating it all, pays for every byte. Three
    streams of 70 MB make a file of about 200 KB; ``streams=150`` about 10 MiB."""
    tail = b"1000 0 << >>"
    stream = _object_stream(_deflate_run(b" ", inflated, tail), inflated + len(b"1000 0 "))
    objects = {200 + i: stream for i in range(streams)}
    packed = {100 + i: (200 + i, 0) for i in range(streams)}
    refs = b" ".join(b"%d 0 R" % n for n in packed)
    return _assemble(objects, packed, b"/Bomb [" + refs + b"]")


def deep_nesting(depth: int = 150, repeats: int = 60_000) -> bytes:
    """One array of ``repeats`` arrays each nested ``depth`` deep (under the interpreter's
    recursion limit, so a recursive parser goes through all of them), compressed."""
    nest = b"[" * depth + b"]" * depth
    body = b"[" + nest * repeats + b"]"
    content = b"1000 0 " + body
    stream = _object_stream(zlib.compress(content, 9), len(b"1000 0 "))
    return _assemble({200: stream}, {100: (200, 0)}, b"/Bomb 100 0 R")


def many_tiny_streams(count: int = 60_000) -> bytes:
    """``count`` small object streams, each holding one dictionary that points at the
    next: every one must be found, inflated and parsed to walk the document."""
    objects: dict[int, bytes] = {}
    packed: dict[int, tuple[int, int]] = {}
    base = 10
    for i in range(count):
        number, holder = base + 2 * i, base + 2 * i + 1
        following = b"/Next %d 0 R" % (number + 2) if i + 1 < count else b""
        content = b"%d 0 << %s >>" % (number, following)
        header = b"%d 0 " % number
        objects[holder] = _object_stream(zlib.compress(header + content[len(header):]),
                                         len(header))
        packed[number] = (holder, 0)
    return _assemble(objects, packed, b"/Bomb %d 0 R" % base)
