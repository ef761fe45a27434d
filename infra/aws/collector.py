"""Python's cyclic garbage collector during a cold start.

A function's first event is nearly all imports and one-off builds (modules, classes,
pydantic models, the boto3 client and its service model, the platform): long-lived objects
that the collector, triggered by the count of allocations, walks again and again for no
garbage. The first event therefore runs with the collector paused; what it built is then
frozen out of later collections (``gc.freeze``), so that a warm event's collections walk
what that event made, not the platform. The little cyclic garbage of the first event is
kept with it; ``runtime.reset`` (tests) lets the collector see it all again."""

from __future__ import annotations

import gc
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

Handler = Callable[[dict[str, Any], Any], dict[str, Any]]


@contextmanager
def paused() -> Iterator[None]:
    """The collector off within, and what exists at the end frozen; nothing done where it
    is off already (an outer pause, or whoever turned it off: theirs to turn on)."""
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        gc.enable()


def first_event_paused(handler: Handler) -> Handler:
    """``handler``, its process's first invocation run under ``paused``."""
    lock = threading.Lock()
    cold = [True]

    def run(event: dict[str, Any], context: Any) -> dict[str, Any]:
        if cold[0]:
            with lock:
                if cold[0]:
                    with paused():
                        try:
                            return handler(event, context)
                        finally:
                            cold[0] = False
        return handler(event, context)

    return run
