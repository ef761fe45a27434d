"""The workers' message metrics, a Dramatiq middleware: apart from shared/metrics.py, which
every process loads (an HTTP function's without Dramatiq)."""

from __future__ import annotations

import time
from typing import Any

from dramatiq.broker import MessageProxy
from dramatiq.middleware import Middleware

from shared.metrics import count_message


class MessageMetrics(Middleware):
    """Counts each message a worker runs by queue, type (the event's, or the job's actor)
    and outcome, and times it."""

    def before_process_message(self, broker: Any, message: MessageProxy) -> None:
        message.options["_metrics_started"] = time.perf_counter()

    def after_process_message(self, broker: Any, message: MessageProxy, *, result: Any = None,
                              exception: BaseException | None = None) -> None:
        started = message.options.pop("_metrics_started", None)
        payload = message.args[0] if message.args else None
        kind = payload.get("type") if isinstance(payload, dict) else None
        outcome = "failed" if exception is not None or message.failed else "ok"
        count_message(message.queue_name, str(kind or message.actor_name), outcome,
                      None if started is None else time.perf_counter() - started)

    def after_skip_message(self, broker: Any, message: MessageProxy) -> None:
        message.options.pop("_metrics_started", None)
        count_message(message.queue_name, message.actor_name, "skipped", None)
