"""The checks that prove an upload is what it seems, run in a child process that the
parent (``shared.judge``) bounds in CPU, memory and wall-clock time.

Run as ``python -m shared.judging``: reads a JSON header line and the file's bytes on stdin,
writes one JSON verdict line on stdout: ``{"ok": true}``, ``{"refuse": 415 | 422, "detail":
...}``, ``{"cpu": true}`` or ``{"memory": true}``, with what judging cost (``cpu_ms``,
``peak_mb``). A child that ends without a verdict was killed on a limit, or is a bug.
"""

from __future__ import annotations

import io
import json
import logging
import math
import os
import re
import resource
import signal
import sys
import warnings
import zlib
from dataclasses import dataclass
from typing import Any

PDF, PNG, JPEG = "application/pdf", "image/png", "image/jpeg"


@dataclass(frozen=True)
class Limits:
    cpu_seconds: int
    memory_bytes: int
    inflated_bytes: int
    max_pixels: int


class Refused(Exception):
    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status, self.detail = status, detail


def over_budget(detail: str) -> Refused:
    return Refused(422, detail)


def not_the_type(detail: str) -> Refused:
    return Refused(415, detail)


# --- PDF ---------------------------------------------------------------------------

# Where a stream's data may start: after the keyword and its end of line. The search is
# deliberately loose (no reliance on /Length or /Filter): whatever pypdf could inflate,
# this counts first.
_STREAM = re.compile(rb"stream(?:\r\n|\n|\r)")
_OUT_CHUNK = 1 << 20
# Input is fed a slice at a time: zlib copies what it has not consumed, and the rest of a
# large file copied once per stream would make many small streams cost quadratic time.
_IN_CHUNK = 1 << 14


def count_inflated(data: bytes, budget: int) -> int:
    """The bytes every zlib stream in ``data`` inflates to, counted a megabyte at a time
    without keeping them; refused as soon as the total passes ``budget``."""
    view, total = memoryview(data), 0
    for match in _STREAM.finditer(data):
        pos = match.end()
        if pos >= len(data) or data[pos] & 0x0F != 8:  # no zlib header (deflate method)
            continue
        inflater = zlib.decompressobj()
        try:
            while pos < len(data) and not inflater.eof:
                pending: bytes | memoryview = view[pos:pos + _IN_CHUNK]
                pos += _IN_CHUNK
                while pending and not inflater.eof:
                    total += len(inflater.decompress(pending, _OUT_CHUNK))
                    if total > budget:
                        raise over_budget(
                            f"file: its streams inflate to more than {budget // 10**6} MB, "
                            "the most a PDF may hold")
                    pending = inflater.unconsumed_tail
        except zlib.error:
            continue  # not zlib after all, or damaged: pypdf will judge it
    return total


def check_pdf(data: bytes, limits: Limits) -> None:
    """A PDF that parses, with at least one page, and no JavaScript or auto-actions."""
    count_inflated(data, limits.inflated_bytes)
    from pypdf import PdfReader

    logging.getLogger("pypdf").setLevel(logging.CRITICAL)
    invalid = not_the_type("file is not a valid PDF")
    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        if len(reader.pages) < 1:
            raise invalid
        root: Any = reader.trailer["/Root"]
        names = root.get("/Names")
        if ("/OpenAction" in root or "/AA" in root
                or (names is not None and "/JavaScript" in names.get_object())):
            raise not_the_type("file is a PDF with scripts or automatic actions")
        _refuse_scripts(reader.trailer.raw_get("/Root"))
    except (Refused, MemoryError):
        raise
    except RecursionError:
        raise over_budget("file: its PDF objects are nested too deeply to check") from None
    except Exception as exc:  # pypdf raises assorted errors on hostile input (PyPdfError,
        # ValueError, KeyError...), some of them made of a MemoryError it caught.
        if _out_of_memory(exc, limits):
            raise MemoryError from None
        raise invalid from None


def _out_of_memory(exc: BaseException, limits: Limits) -> bool:
    """Whether an error comes of running out of address space: a MemoryError in its chain,
    or (pypdf's lenient mode swallows some and fails later on what they left) a peak
    within a tenth of the limit."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, MemoryError):
            return True
        seen = seen.__cause__ or seen.__context__
    return _status_kb("VmPeak") * 1024 > 0.9 * limits.memory_bytes


_SCRIPTED = frozenset({"/JavaScript", "/Launch"})
_WALK_BUDGET = 200_000


def _refuse_scripts(root: Any) -> None:
    """JavaScript or a launch action anywhere reachable from the catalog: pages' actions,
    annotations, form fields, outlines."""
    from pypdf.generic import ArrayObject, DictionaryObject, IndirectObject

    seen: set[tuple[int, int]] = set()
    stack: list[Any] = [root]
    budget = _WALK_BUDGET
    while stack:
        budget -= 1
        if budget < 0:
            raise over_budget(f"file: the PDF has more than {_WALK_BUDGET} objects to check")
        obj = stack.pop()
        if isinstance(obj, IndirectObject):
            ref = (obj.idnum, obj.generation)
            if ref in seen:
                continue
            seen.add(ref)
            obj = obj.get_object()
        if isinstance(obj, DictionaryObject):
            if "/JS" in obj or "/JavaScript" in obj or obj.get("/S") in _SCRIPTED:
                raise not_the_type("file is a PDF with scripts or automatic actions")
            stack.extend(obj.values())  # raw values: indirect references stay references
        elif isinstance(obj, ArrayObject):
            stack.extend(obj)


# --- images ------------------------------------------------------------------------

_FORMATS = {PNG: "PNG", JPEG: "JPEG"}


def check_image(data: bytes, kind: str, limits: Limits) -> None:
    """An image that decodes whole, as the type its first bytes claim, within the pixel
    budget (checked from its header, before any pixel is decoded)."""
    from PIL import Image

    fmt = _FORMATS[kind]
    Image.MAX_IMAGE_PIXELS = limits.max_pixels
    warnings.simplefilter("error", Image.DecompressionBombWarning)
    invalid = not_the_type(f"file is not a valid {fmt} image")
    try:
        with Image.open(io.BytesIO(data), formats=[fmt]) as image:
            width, height = image.size
            if width * height > limits.max_pixels:
                raise over_budget(f"file: an image of {width} x {height} pixels is larger than "
                                  f"{limits.max_pixels / 1e6:g} megapixels")
            image.verify()
        with Image.open(io.BytesIO(data), formats=[fmt]) as image:
            image.load()
    except (Refused, MemoryError):
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise over_budget(f"file: an image larger than {limits.max_pixels / 1e6:g} "
                          "megapixels") from None
    except Exception:  # Pillow's errors on broken input are assorted (OSError, SyntaxError...)
        raise invalid from None


# --- the child process -------------------------------------------------------------


def judge(kind: str, data: bytes, limits: Limits) -> None:
    if kind == PDF:
        check_pdf(data, limits)
    elif kind in _FORMATS:
        check_image(data, kind, limits)
    else:
        raise not_the_type("file is of a type that is not accepted")


def _limit_self(limits: Limits) -> None:
    """CPU from now (the interpreter's start is not the file's fault), address space in
    all: past the soft CPU limit the kernel sends SIGXCPU, past the hard one SIGKILL."""
    used = resource.getrusage(resource.RUSAGE_SELF)
    cpu = math.ceil(used.ru_utime + used.ru_stime) + limits.cpu_seconds
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
    resource.setrlimit(resource.RLIMIT_AS, (limits.memory_bytes, limits.memory_bytes))


def _status_kb(field: str) -> int:
    """A figure of /proc/self/status (Linux), in KiB; 0 where there is none."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def _answer(verdict: dict[str, Any]) -> None:
    """Write the verdict, with what judging cost (for the log line the parent writes)."""
    used = resource.getrusage(resource.RUSAGE_SELF)
    verdict["cpu_ms"] = round((used.ru_utime + used.ru_stime) * 1000)
    # ru_maxrss outlives exec on Linux, so it would report the server's size at the spawn;
    # the memory map's high-water mark does not.
    verdict["peak_mb"] = (_status_kb("VmHWM") or used.ru_maxrss) // 1024
    sys.stdout.buffer.write(json.dumps(verdict).encode() + b"\n")
    sys.stdout.buffer.flush()


def _on_cpu_limit(signum: int, frame: object) -> None:
    # The soft limit's SIGXCPU, handled between two bytecodes: say so and leave. Stuck in
    # C code, the handler never runs, and the hard limit's SIGKILL a second later ends it.
    _answer({"cpu": True})
    os._exit(0)


def main() -> int:
    stdin = sys.stdin.buffer
    header = json.loads(stdin.readline())
    limits = Limits(**header["limits"])
    signal.signal(signal.SIGXCPU, _on_cpu_limit)
    _limit_self(limits)
    data = stdin.read(header["size"])
    try:
        judge(header["kind"], data, limits)
        verdict: dict[str, Any] = {"ok": True}
    except Refused as refused:
        verdict = {"refuse": refused.status, "detail": refused.detail}
    except MemoryError:
        verdict = {"memory": True}
    _answer(verdict)
    return 0


if __name__ == "__main__":
    sys.exit(main())
