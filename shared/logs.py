"""JSON-lines logging with a correlation id carried by a context variable."""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import sys
import threading
import time
import traceback
from collections import deque
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

import orjson

correlation_id: ContextVar[str | None] = ContextVar("correlation_id", default=None)


_stamp = (0, "")  # the last millisecond formatted: a busy server writes several per ms


def _ts(created: float) -> str:
    global _stamp
    ms = int(created * 1000)
    if _stamp[0] != ms:
        _stamp = (ms, datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="milliseconds"))
    return _stamp[1]


def _doc(created: float, level: str, logger: str, msg: str) -> dict[str, object]:
    return {"ts": _ts(created), "level": level, "logger": logger, "msg": msg,
            "correlation_id": correlation_id.get()}


class MessageScrubber(logging.Filter):
    """No message argument reaches a log line. Dramatiq logs a failed message as
    ``actor(args...)`` (the repr of every argument: names, e-mails, mail bodies), and an
    exception's text may quote what it failed on (an SMTP refusal names the recipient).
    So a log call's arguments are kept only when they are plain values (names, ids,
    counts): a queued message is shown as its actor and id, anything else by its type;
    and a traceback keeps its exception types and frames but none of their texts.
    Installed on every record as it is made (``install_scrubber``), for every logger and
    handler."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple):
            if not all(type(a) in _PLAIN for a in args):
                record.args = tuple(_safe(a) for a in args)
        elif isinstance(args, dict) and not all(type(a) in _PLAIN for a in args.values()):
            record.args = {k: _safe(a) for k, a in args.items()}
        if record.exc_info and record.exc_info[1] is not None:
            record.exc_text = bare_traceback(record.exc_info[1])
            record.exc_info = None
        return True


def _is_message(value: object) -> bool:
    # Dramatiq's Message and MessageProxy, told by shape: this module imports no broker.
    return hasattr(value, "actor_name") and hasattr(value, "message_id") \
        and hasattr(value, "args")


# What a log call's arguments may be: names, ids and counts. A container, an exception or
# any other object is shown by its type only: Dramatiq logs an actor's arguments (a tuple
# and a dict) as they came, and an exception's text may quote them.
_PLAIN = frozenset({str, int, float, bool, type(None)})


def _safe(arg: object) -> object:
    if type(arg) in _PLAIN:
        return arg
    if _is_message(arg):
        return f"{getattr(arg, 'actor_name', '?')}#{getattr(arg, 'message_id', '?')}"
    return f"<{type(arg).__name__} withheld>"


def bare_traceback(exc: BaseException) -> str:
    """The traceback of ``exc`` (and of its causes) with each exception's type and frames
    and without its text: where it failed, never on what."""
    parts: list[str] = []
    tb: traceback.TracebackException | None = traceback.TracebackException.from_exception(
        exc, capture_locals=False)
    chain: list[traceback.TracebackException] = []
    while tb is not None and len(chain) < 10:
        chain.append(tb)
        tb = tb.__cause__ or (None if tb.__suppress_context__ else tb.__context__)
    for i, link in enumerate(reversed(chain)):
        if i:
            parts.append("\nThe above exception led to the next one:\n\n")
        parts.append("Traceback (most recent call last):\n")
        parts.extend(link.stack.format())
        parts.append(f"{_type_name(link)} (text withheld)\n")
    return "".join(parts).rstrip("\n")


def _type_name(link: traceback.TracebackException) -> str:
    t = link.exc_type
    if t is None:
        return "Exception"
    module = t.__module__
    return t.__qualname__ if module in ("builtins", "__main__") else f"{module}.{t.__qualname__}"


_scrubber = MessageScrubber()


def install_scrubber() -> None:
    """Every log record of the process is scrubbed as it is made, whichever handlers
    (ours, a test's, a library's) it then reaches. Idempotent."""
    base = logging.getLogRecordFactory()
    if getattr(base, "scrubs_messages", False):
        return

    def make(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = base(*args, **kwargs)
        _scrubber.filter(record)
        return record

    make.scrubs_messages = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(make)


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        doc = _doc(record.created, record.levelname.lower(), record.name, record.getMessage())
        extra = getattr(record, "fields", None)
        if extra:
            doc.update(extra)
        if record.exc_text:
            doc["exc"] = record.exc_text
        elif record.exc_info:
            doc["exc"] = self.formatException(record.exc_info)
        return orjson.dumps(doc, default=str).decode()


class BatchedHandler(logging.Handler):
    """Lines kept in memory and written by a thread of their own, every ``interval`` seconds
    and at exit, in one system call. A write per line is a system call that lets go of the
    GIL on the request's own thread, and under a threaded server each such hand-over costs
    context switches (see ``shared.ids``). A process killed outright loses at most the last
    ``interval`` of its lines."""

    def __init__(self, fd: int, interval: float = 0.05) -> None:
        super().__init__()
        self.fd = fd
        self.lines: deque[bytes] = deque()  # append and popleft are safe across threads
        self.interval = interval
        self.writing = threading.Lock()
        threading.Thread(target=self._run, name="log-writer", daemon=True).start()
        atexit.register(self.flush)

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.lines.append(self.format(record).encode() + b"\n")
        except Exception:
            self.handleError(record)

    def flush(self) -> None:
        with self.writing:  # the writer thread and the exit hook: one at a time, in order
            batch = []
            while self.lines:
                batch.append(self.lines.popleft())
            data = b"".join(batch)
            with contextlib.suppress(OSError):  # nowhere to write to: not worth a crash
                while data:
                    data = data[os.write(self.fd, data):]

    def close(self) -> None:
        """Write what is left and stop writing: the descriptor may be closed after this
        (else the thread would write into whatever file next gets its number)."""
        self.flush()
        with self.writing:
            self.fd = -1
        super().close()

    def _run(self) -> None:
        while self.fd >= 0:
            time.sleep(self.interval)
            self.flush()


_root = logging.getLogger()
_batched: BatchedHandler | None = None  # the root's only handler, when configure made it so


def info_line(logger: logging.Logger, msg: str, fields: dict[str, object]) -> None:
    """``logger.info(msg)`` with ``fields``, the same line, for the server's one line per
    request: where the batched writer is the root's only handler the line goes straight to
    it: a LogRecord and the handler chain were a quarter of a detail route's own work."""
    handler = _batched
    if handler is None or _root.handlers != [handler] or logger.handlers \
            or not logger.isEnabledFor(logging.INFO):
        logger.info(msg, extra={"fields": fields})
        return
    doc = _doc(time.time(), "info", logger.name, msg)
    doc.update(fields)
    handler.lines.append(orjson.dumps(doc, default=str) + b"\n")


def configure(level: str = "INFO", *, batched: bool = False) -> None:
    """``batched`` for long-running processes with many threads (the server, workers); a
    Lambda instance may be frozen between invocations, so it writes each line at once."""
    handler: logging.Handler = (BatchedHandler(sys.stderr.fileno()) if batched
                                else logging.StreamHandler(sys.stderr))
    handler.setFormatter(JsonFormatter())
    handler.addFilter(_scrubber)  # also for records made before the factory was ours
    install_scrubber()
    # Our lines carry no thread, process or source location: not gathering them for every
    # record is the logging documentation's own advice for speed, on every line we write.
    logging.logThreads = logging.logProcesses = logging.logMultiprocessing = False
    logging._srcfile = None
    global _batched
    _batched = handler if isinstance(handler, BatchedHandler) else None
    _root.handlers[:] = [handler]
    _root.setLevel(level)


def log(logger: logging.Logger, msg: str, **fields: object) -> None:
    """Log with structured fields; callers pass ids and counts, never tokens or contents.
    The access log's fast path: a command's own line is on a request's path too."""
    info_line(logger, msg, fields)
