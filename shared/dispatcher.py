"""Sends a commit's outbox entries from threads of their own, so that no request (and no
consumer) waits on the broker after its transaction: the entries are durable from the
commit, and whatever these threads do not get out the relay's sweep sends later."""

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


class Dispatcher:
    """A few sending threads: a broker that confirms each message (RabbitMQ) takes a round
    trip per send, and one thread alone fell behind the commits of a busy server.
    ``batch``: how many waiting commits a thread takes at once (sent one after another,
    recorded together)."""

    def __init__(self, send: Send, threads: int = 4, batch: int = 16) -> None:
        self.send = send
        self.batch = batch
        self.queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self.threads = [threading.Thread(target=self._run, name=f"outbox-dispatch-{n}",
                                         daemon=True) for n in range(threads)]

    def start(self) -> None:
        for t in self.threads:
            t.start()

    def submit(self, table: Any, entries: list[dict[str, Any]]) -> None:
        self.queue.put((table, entries))

    def stop(self, timeout: float = 10.0) -> None:
        """Send what is waiting, then end (within ``timeout``: the rest is for the sweep)."""
        for _ in self.threads:
            self.queue.put(_STOP)
        for t in self.threads:
            t.join(timeout)

    def _run(self) -> None:
        while True:
            jobs = self._take()
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
                    self._drop_waiting()
                    break
            if _STOP in jobs:
                return

    def _take(self) -> list[Any]:
        jobs = [self.queue.get()]
        while len(jobs) < self.batch and jobs[-1] is not _STOP:
            try:
                jobs.append(self.queue.get_nowait())
            except queue.Empty:
                break
        return jobs

    def _drop_waiting(self) -> None:
        dropped, stops = 0, 0
        while True:
            try:
                job = self.queue.get_nowait()
            except queue.Empty:
                break
            if job is _STOP:
                stops += 1
            else:
                dropped += len(job[1])
        for _ in range(stops):  # each sending thread still gets its own
            self.queue.put(_STOP)
        if dropped:
            log.warning("outbox dispatch: left to the sweep", extra={"fields": {
                "entries": dropped}})
