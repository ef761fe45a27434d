"""Sends a commit's outbox entries from a thread of its own, so that no request (and no
consumer) waits on the broker after its transaction: the entries are durable from the
commit, and whatever this thread does not get out the relay's sweep sends later."""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from typing import Any

log = logging.getLogger("atende.outbox")
# (table, entries) -> False if the broker was out of reach (what it could not send stays in
# the outbox)
Send = Callable[[Any, list[dict[str, Any]]], bool]
_STOP = object()


class Dispatcher(threading.Thread):
    def __init__(self, send: Send) -> None:
        super().__init__(name="outbox-dispatch", daemon=True)
        self.send = send
        self.queue: queue.SimpleQueue[Any] = queue.SimpleQueue()

    def submit(self, table: Any, entries: list[dict[str, Any]]) -> None:
        self.queue.put((table, entries))

    def run(self) -> None:
        stopping = False
        while not stopping:
            jobs = self._batch()
            stopping = _STOP in jobs
            # The commits that came in meanwhile go out together: one settling transaction
            # per table instead of one per commit.
            by_table: dict[str, tuple[Any, list[dict[str, Any]]]] = {}
            for table, entries in (job for job in jobs if job is not _STOP):
                by_table.setdefault(table.name, (table, []))[1].extend(entries)
            for table, entries in by_table.values():
                try:
                    reachable = self.send(table, entries)
                except Exception:  # e.g. the table: the entries stay pending, for the sweep
                    log.exception("outbox dispatch failed")
                    reachable = False
                if not reachable:
                    # The broker is out of reach: what waits here would fail the same way,
                    # a timeout each. It is all in the outbox, where the sweep will find it.
                    stopping = self._drop_waiting() or stopping
                    break

    def _batch(self, most: int = 100) -> list[Any]:
        jobs = [self.queue.get()]
        while len(jobs) < most:
            try:
                jobs.append(self.queue.get_nowait())
            except queue.Empty:
                break
        return jobs

    def _drop_waiting(self) -> bool:
        """Forget the waiting jobs; True if a stop was among them."""
        dropped, stop = 0, False
        while True:
            try:
                job = self.queue.get_nowait()
            except queue.Empty:
                break
            if job is _STOP:
                stop = True
            else:
                dropped += len(job[1])
        if dropped:
            log.warning("outbox dispatch: left to the sweep", extra={"fields": {
                "entries": dropped}})
        return stop

    def stop(self, timeout: float = 10.0) -> None:
        """Send what is waiting, then end (within ``timeout``: the rest is for the sweep)."""
        self.queue.put(_STOP)
        self.join(timeout)
