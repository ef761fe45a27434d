"""Group commit for worker threads: calls that arrive while another thread is running a
batch wait for it to finish, and the first of them then runs all that waited, as one
batch. Under load a batch holds about as many calls as there are threads; a lone call
is a batch of one, run by its own thread after a yield or two."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

# Yields in a row that bring no one before a batch is run: one let threads that had a
# delivery in hand miss the batch about as often as they made it (docs/performance.md).
_PATIENCE = 2

T = TypeVar("T")
R = TypeVar("R")


class _Call(Generic[T, R]):
    """One caller's item and, once its batch ran, its outcome. A plain class: a dataclass
    is compiled at import, which every Lambda function's first answer pays."""

    __slots__ = ("error", "item", "lead", "outcome", "woken")

    def __init__(self, item: T) -> None:
        self.item = item
        # Held until the call is woken: a bare lock, lighter than an Event (one wait, one
        # wake).
        self.woken = threading.Lock()
        self.woken.acquire()
        self.lead = False  # woken to run the next batch, not with an outcome
        self.outcome: R | None = None
        self.error: BaseException | None = None


class Combiner(Generic[T, R]):
    """``run`` takes a batch of items and returns one outcome per item, in order; a call
    returns its own item's outcome, or raises what ``run`` raised for its batch."""

    def __init__(self, run: Callable[[Sequence[T]], Sequence[R]], *, limit: int = 64) -> None:
        self.run = run
        self.limit = limit
        self._lock = threading.Lock()
        self._waiting: list[_Call[T, R]] = []
        self._running = False

    def __call__(self, item: T) -> R:
        call: _Call[T, R] = _Call(item)
        with self._lock:
            self._waiting.append(call)
            lead = not self._running
            self._running = True
        if not lead:
            call.woken.acquire()
        if lead or call.lead:
            self._lead(call)
        if call.error is not None:
            raise call.error
        return call.outcome  # type: ignore[return-value]  # set by the batch that ran it

    def _gather(self) -> None:
        """Yield the interpreter while that brings more calls: threads that already hold a
        delivery then reach the batch instead of the next one. Alone, it costs two yields."""
        arrived, idle = len(self._waiting), 0
        while arrived < self.limit and idle < _PATIENCE:
            time.sleep(0)
            now = len(self._waiting)
            idle = idle + 1 if now == arrived else 0
            arrived = now

    def _lead(self, own: _Call[T, R]) -> None:
        """Run what waits (this thread's own call among it), then hand the lead on to the
        first call that came meanwhile, if any: a thread leads one batch, so its own
        message is answered without waiting for the traffic to stop."""
        batch: list[_Call[T, R]] = []
        try:
            self._gather()
            with self._lock:
                batch, self._waiting = self._waiting[:self.limit], self._waiting[self.limit:]
            outcomes = self.run([c.item for c in batch])
            if len(outcomes) != len(batch):
                raise RuntimeError("a batch's outcomes do not match its items")
            for c, outcome in zip(batch, outcomes, strict=True):
                c.outcome = outcome
        except BaseException as exc:  # each caller raises it as its own
            if not batch:  # raised before the batch was taken: this call alone leaves
                with self._lock:
                    self._waiting.remove(own)
                raise
            for c in batch:
                c.error = exc
        finally:
            # Whatever happened (even an exception raised into this thread from outside,
            # as a time limit does), the batch's callers are woken and the lead handed on:
            # a caller left waiting would hold its message forever.
            self._hand_on(batch)

    def _hand_on(self, batch: list[_Call[T, R]]) -> None:
        with self._lock:
            following = self._waiting[0] if self._waiting else None
            if following is None:
                self._running = False
            else:
                following.lead = True
        for c in batch:
            c.woken.release()
        if following is not None:
            following.woken.release()
