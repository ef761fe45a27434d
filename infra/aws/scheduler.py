"""Lambda entry point: the scheduler tick (EventBridge, every minute). Runs the services'
periodic jobs (due meeting reminders) and the outbox sweep, the relay's backstop."""

from __future__ import annotations

import logging
from typing import Any

log = logging.getLogger("atende.scheduler")


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    from infra.aws import runtime

    platform = runtime.scheduler()
    failed = 0
    jobs = platform.periodic_jobs()
    for job in jobs:
        try:
            job()
        except Exception:
            failed += 1
            log.exception("periodic job failed")
    # Old enough not to race a commit's own dispatch or the stream relay.
    swept = platform.relay.sweep(min_age=10.0)
    return {"jobs": len(jobs), "failed": failed, "swept": swept}
