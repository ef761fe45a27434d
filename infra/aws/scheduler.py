"""Lambda entry point: the scheduler tick (EventBridge, every minute). Runs the services'
periodic jobs (due meeting reminders) and the outbox sweep, the relay's backstop.

A tick mostly finds nothing to do, and what it does is mostly waiting for DynamoDB: the
jobs and every table's outbox reads run at once, and the broker is built only when a job
commits an event or the sweep finds an entry to send."""

from __future__ import annotations

import logging
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from infra.aws.collector import first_event_paused

log = logging.getLogger("atende.scheduler")
# Old enough not to race a commit's own dispatch or the stream relay.
MIN_AGE = 10.0


@first_event_paused
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    from infra.aws import runtime

    tables = runtime.tables()
    with ThreadPoolExecutor(len(tables) + 2, thread_name_prefix="tick") as pool:
        # The reads first: DynamoDB serves them while this process builds the jobs.
        reads = read_pending(tables, pool)
        jobs = runtime.periodic_jobs()
        running = [pool.submit(job) for job in jobs]
        swept = send(reads)
        failed = sum(_failed(done) for done in running)
    return {"jobs": len(jobs), "failed": failed, "swept": swept}


Reads = list[tuple[Any, "Future[list[dict[str, Any]]]"]]


def read_pending(tables: dict[str, Any], pool: ThreadPoolExecutor) -> Reads:
    """Every service's outbox read at once, for what is pending for ``MIN_AGE`` seconds."""
    from infra.aws import runtime
    from shared.clock import SystemClock
    from shared.pending import pending

    now = (runtime.clock() or SystemClock()).now()
    return [(table, pool.submit(pending, table, now, min_age=MIN_AGE))
            for table in tables.values()]


def send(reads: Reads) -> int:
    """Send what the reads found, in each table's order; the relay (its broker) is built
    only for something to send."""
    from infra.aws import runtime

    found = [(table, entries) for table, read in reads if (entries := read.result())]
    if not found:
        return 0
    relay = runtime.relay()[0]
    return sum(relay.dispatch(table, entries) for table, entries in found)


def _failed(done: Future[Any]) -> bool:
    try:
        done.result()
    except Exception:
        log.exception("periodic job failed")
        return True
    return False
