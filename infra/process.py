"""What a long-running ``atende`` process does around its work: refuse clearly what cannot
work (one line naming the cause and the fix, no traceback), say at start-up what it runs
on, hold its data directory, and stop gracefully."""

from __future__ import annotations

import errno
import fcntl
import logging
import os
import threading
import time
from pathlib import Path
from typing import Any

from shared.health import Throttled, broker_answers, broker_kind, safe_url
from shared.settings import Settings

log = logging.getLogger("atende.process")


class OperatorError(Exception):
    """A mistake or a missing precondition an operator can fix: ``atende`` prints the
    message as one line and exits with status 2."""


def store_line(settings: Settings) -> str:
    if settings.table_backend == "dynamodb":
        return f"dynamodb (tables {settings.table_prefix}-{settings.environment}-*)"
    return f"sqlite ({settings.data_dir / 'atende.db'})"


def startup_lines(role: str, settings: Settings, broker: Any) -> list[str]:
    """What the process runs on, and (once) a warning when its broker does not answer."""
    url = settings.broker_url
    kind = broker_kind(url)
    where = "in-process" if kind == "memory" else safe_url(url)
    lines = [f"Atende {role}: broker {kind} ({where}), store {store_line(settings)}"]
    problem = broker_answers(broker, url)
    if problem is not None:
        lines.append(f"warning: the broker at {safe_url(url)} does not answer ({problem}); "
                     f"events wait in the outbox and go out when it does")
    return lines


def require_real_broker(role: str, settings: Settings) -> None:
    if broker_kind(settings.broker_url) == "memory":
        raise OperatorError(
            f"atende {role} needs a broker shared with the HTTP side, but ATENDE_BROKER_URL "
            f"is memory:// (in-process): set ATENDE_BROKER_URL (e.g. "
            f"redis://127.0.0.1:6379/0), or run `atende dev` for everything in one process")


class DataDirLock:
    """Who uses a data directory: ``atende dev`` alone (exclusive), or the processes of a
    split deployment together (shared). The lock is the kernel's (fcntl), so a process
    that died holds nothing; the file names a holder's pid."""

    def __init__(self, data_dir: Path, role: str, *, exclusive: bool) -> None:
        data_dir.mkdir(parents=True, exist_ok=True)
        self.path = data_dir / "atende.lock"
        self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(self.fd, (fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
                        | fcntl.LOCK_NB)
        except OSError as exc:
            if exc.errno not in (errno.EAGAIN, errno.EACCES):
                raise
            holder = os.pread(self.fd, 200, 0).decode(errors="replace").strip()
            os.close(self.fd)
            who = f"another atende ({holder})" if holder else "another atende process"
            raise OperatorError(
                f"{who} is using the data directory {data_dir}: stop it first, or give "
                f"this one another with --data-dir") from None
        # Each holder writes itself: the file names a live process (one of them, when
        # several share it), never one that has died.
        os.ftruncate(self.fd, 0)
        os.pwrite(self.fd, f"atende {role}, pid {os.getpid()}".encode(), 0)

    def release(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


def bind(app: Any, host: str, port: int, settings: Settings, *, what: str = "--port") -> Any:
    """The WSGI server, listening: done before anything is printed or loaded, so that a
    port in use is the one line the operator sees."""
    from infra.server import build_server

    try:
        return build_server(app, settings, host, port)
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            raise OperatorError(f"port {port} on {host} is already in use (another atende?): "
                                f"stop that process or choose another port with {what}"
                                ) from None
        if exc.errno == errno.EACCES:
            raise OperatorError(f"not allowed to listen on port {port} on {host}: choose a "
                                f"port above 1023 with {what}") from None
        raise OperatorError(f"cannot listen on {host}:{port}: {exc.strerror}") from None


def serve_in_thread(server: Any, name: str) -> threading.Thread:
    thread = threading.Thread(target=server.run, name=name, daemon=True)
    thread.start()
    return thread


def drain_server(server: Any, timeout: float) -> bool:
    """Stop taking connections, let the requests in flight finish and their answers go out
    (within ``timeout`` seconds), then close. True if nothing was cut short."""
    from waitress import wasyncore

    stopped = threading.Event()

    def stop_listening() -> None:  # run on the server's own loop thread
        wasyncore.dispatcher.close(server)
        stopped.set()

    server.trigger.pull_trigger(stop_listening)
    stopped.wait(1.0)
    dispatcher = server.task_dispatcher
    deadline = time.monotonic() + timeout

    def busy() -> bool:
        channels = [c for c in list(server._map.values()) if hasattr(c, "total_outbufs_len")]
        return bool(dispatcher.queue) or dispatcher.active_count > 0 or any(
            c.requests or c.total_outbufs_len for c in channels)

    while busy() and time.monotonic() < deadline:
        time.sleep(0.02)
    clean = not busy()
    dispatcher.shutdown(cancel_pending=True, timeout=1)
    closed = threading.Event()

    def close_all() -> None:  # on the loop thread too; an empty map ends its loop
        for channel in list(server._map.values()):
            if channel is not server.trigger:
                channel.close()
        server.trigger.close()
        closed.set()

    server.trigger.pull_trigger(close_all)
    closed.wait(2.0)
    return clean


class RepeatFilter(logging.Filter):
    """While the broker is down, Dramatiq's consumers log each failed reconnection, and the
    Redis broker each new identity it takes, for every queue, every few seconds: one line
    per period says the same."""

    MARKERS = (("dramatiq", "Consumer encountered a connection error"),
               ("dramatiq", "Restarting consumer in"),
               ("dramatiq", "Failed to enqueue"),
               ("atende.broker", "redis connection lost"))

    def __init__(self, period: float) -> None:
        super().__init__()
        self.throttled = Throttled(logging.getLogger("atende.broker"), period)

    def filter(self, record: logging.LogRecord) -> bool:
        msg = str(record.msg)
        if not any(record.name.startswith(source) and msg.startswith(text)
                   for source, text in self.MARKERS):
            return True
        self.throttled.warning("broker-connection", "broker connection lost; retrying",
                               detail=record.getMessage()[:200])
        return False


def operator_line(exc: BaseException) -> str | None:
    """One line for a failure of the environment rather than of the code (no credentials,
    a service out of reach), or None for a real bug, which keeps its traceback."""
    name = type(exc).__name__
    if name in ("NoCredentialsError", "PartialCredentialsError"):
        return ("no AWS credentials found: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY "
                "(or AWS_PROFILE), or ATENDE_AWS_ENDPOINT_URL for a local emulator")
    if name == "NoRegionError":
        return "no AWS region: set ATENDE_AWS_REGION (e.g. sa-east-1)"
    if name == "EndpointConnectionError":
        return f"AWS is out of reach: {exc}; check ATENDE_AWS_ENDPOINT_URL and the network"
    if name in ("ConnectionError", "AMQPConnectionError", "ConnectionRefusedError"):
        return (f"the broker does not answer ({name}: {str(exc)[:200]}): start it, or check "
                f"ATENDE_BROKER_URL")
    return None
