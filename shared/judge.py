"""Judging an upload out of the interpreter, within a budget.

Each file is judged by a fresh child process (``python -m shared.judging``) that limits its
own CPU and address space; the parent adds a wall-clock timeout and kills it past that. A
hostile file costs at most its budget and never the server: the HTTP thread only waits on a
pipe (the GIL released), and at most ``judge_concurrency`` files are judged at once in a
process, so the server's other threads stay free for other requests.

A subprocess, not a multiprocessing pool: it needs no /dev/shm (AWS Lambda has none) and no
fork of a threaded server, and a killed child takes nothing of the parent's with it.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import threading
from dataclasses import asdict, dataclass
from pathlib import Path

from shared.errors import ServiceBusy, UnsupportedMediaType, ValidationFailed
from shared.judging import Limits
from shared.settings import Settings

log = logging.getLogger("atende.files")
_MB = 1 << 20
# The child imports this very code, wherever the server was started from.
_ROOT = str(Path(__file__).resolve().parent.parent)
_CHILD_ENV = {**os.environ,
              "PYTHONPATH": os.pathsep.join(p for p in (_ROOT, os.environ.get("PYTHONPATH"))
                                            if p)}


@dataclass(frozen=True)
class Budget:
    limits: Limits
    wall_seconds: float
    concurrency: int

    @classmethod
    def of(cls, settings: Settings) -> Budget:
        return cls(Limits(cpu_seconds=settings.judge_cpu_seconds,
                          memory_bytes=settings.judge_memory_mb * _MB,
                          inflated_bytes=settings.judge_inflated_mb * 10**6,
                          max_pixels=settings.judge_max_pixels),
                   wall_seconds=settings.judge_wall_seconds,
                   concurrency=settings.judge_concurrency)


class Judge:
    """Judges files in child processes, at most ``budget.concurrency`` at a time."""

    def __init__(self, budget: Budget) -> None:
        self.budget = budget
        self.slots = threading.BoundedSemaphore(max(1, budget.concurrency))

    def judge(self, kind: str, data: bytes) -> None:
        """Return if the file is what ``kind`` says; else raise 415 (not that type),
        422 (over budget) or 503 (every judge busy: no thread waits for one)."""
        if not self.slots.acquire(blocking=False):
            raise ServiceBusy("too many files are being checked at once; retry in a moment")
        try:
            verdict = self._run(kind, data)
        finally:
            self.slots.release()
        log.info("upload judged", extra={"fields": {
            "kind": kind, "size": len(data), "cpu_ms": verdict.get("cpu_ms"),
            "peak_mb": verdict.get("peak_mb"),
            "verdict": next((k for k in ("ok", "cpu", "memory") if verdict.get(k)),
                            verdict.get("refuse"))}})
        if verdict.get("ok"):
            return
        if verdict.get("cpu"):  # the child's SIGXCPU handler
            raise self._over("cpu", f"{self.budget.limits.cpu_seconds} s of CPU")
        if verdict.get("memory"):  # a MemoryError the child caught
            raise self._over("memory", f"{self.budget.limits.memory_bytes // _MB} MiB of memory")
        detail = str(verdict.get("detail", ""))
        if verdict.get("refuse") == 415:
            raise UnsupportedMediaType(detail)
        raise _invalid(detail.removeprefix("file: "))

    def _run(self, kind: str, data: bytes) -> dict[str, object]:
        header = json.dumps({"kind": kind, "size": len(data),
                             "limits": asdict(self.budget.limits)}).encode()
        # The child's stderr is dropped: pypdf's and Pillow's messages may quote the file.
        proc = subprocess.Popen([sys.executable, "-m", "shared.judging"], env=_CHILD_ENV,
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=subprocess.DEVNULL, close_fds=True)
        try:
            out, _ = proc.communicate(header + b"\n" + data, timeout=self.budget.wall_seconds)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()
            raise self._over("time", f"{self.budget.wall_seconds:g} s", killed=True) from None
        if proc.returncode < 0:  # killed: SIGXCPU past the CPU limit, or an abort on memory
            sig = -proc.returncode
            if sig in (signal.SIGXCPU, signal.SIGKILL):
                raise self._over("cpu", f"{self.budget.limits.cpu_seconds} s of CPU",
                                 killed=True)
            raise self._over("memory", f"{self.budget.limits.memory_bytes // _MB} MiB of memory",
                             killed=True)
        try:
            verdict = json.loads(out.splitlines()[-1])
        except (IndexError, ValueError):
            verdict = None
        if not isinstance(verdict, dict):
            # Not the file's doing (the child could not start or crashed in our code): an
            # operator's problem, said without any of the file in the line.
            log.error("upload judge failed", extra={"fields": {"exit_status": proc.returncode}})
            raise RuntimeError(f"upload judge exited with status {proc.returncode}")
        return verdict

    def _over(self, resource: str, budget: str, *, killed: bool = False) -> ValidationFailed:
        if killed:  # no verdict, so no "upload judged" line: say what happened
            log.info("upload judge killed", extra={"fields": {"resource": resource}})
        return _invalid(f"checking it needed more than {budget}, the most a file may take")


def _invalid(message: str) -> ValidationFailed:
    return ValidationFailed.field("file", message)


_default: Judge | None = None
_default_lock = threading.Lock()


def configure(settings: Settings) -> Judge:
    """The process's judge, with these settings' budget (one per process: the concurrency
    bound is the process's)."""
    global _default
    with _default_lock:
        if _default is None or _default.budget != Budget.of(settings):
            _default = Judge(Budget.of(settings))
        return _default


def default_judge() -> Judge:
    return _default or configure(Settings())

