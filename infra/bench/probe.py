"""Counting processed messages inside a worker process, and the no-op baseline worker.

``Probe`` is added to a worker's broker through ``ATENDE_BROKER_MIDDLEWARE``. It counts
the messages of one actor (``ATENDE_BENCH_ACTOR``) and, at the ``ATENDE_BENCH_EXPECT``-th,
writes to ``ATENDE_BENCH_PROBE`` the time from the first one's start to the last one's end,
and the CPU time the whole process (every thread) spent meanwhile.

``python -m infra.bench.probe`` is the baseline: a Dramatiq worker, built like
``atende worker`` (same broker URL, middleware and threads), whose actor does nothing;
with ``ATENDE_BENCH_STOCK``, on Dramatiq's own RabbitMQ broker instead (``STOCK_QUEUE``).
It starts consuming once the file ``ATENDE_BENCH_GO`` exists, so that it can be started
(imports paid) while the worker under test drains, without running beside it.
"""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from pathlib import Path
from typing import Any

import dramatiq
from dramatiq.broker import MessageProxy
from dramatiq.middleware import Middleware

NOOP_ACTOR, NOOP_QUEUE = "bench_noop", "bench-noop"
# Dramatiq's own RabbitMQ broker, as it comes (its consumer, its classic queue, its default
# middleware): a reference that moves with none of the platform's changes to the broker.
STOCK_QUEUE = "bench-noop-stock"


class Probe(Middleware):
    def __init__(self) -> None:
        self.actor = os.environ.get("ATENDE_BENCH_ACTOR", "")
        self.expect = int(os.environ.get("ATENDE_BENCH_EXPECT", "0"))
        self.path = os.environ.get("ATENDE_BENCH_PROBE", "")
        self.lock = threading.Lock()
        self.count = 0
        self.first: float | None = None
        self.cpu = 0.0  # the process's CPU time when the first started
        self.failed = 0

    def before_process_message(self, broker: dramatiq.Broker, message: MessageProxy) -> None:
        if message.actor_name == self.actor:
            with self.lock:
                if self.first is None:
                    self.first, self.cpu = time.perf_counter(), time.process_time()

    def after_process_message(self, broker: dramatiq.Broker, message: MessageProxy,
                              *, result: Any = None, exception: BaseException | None = None
                              ) -> None:
        if message.actor_name != self.actor:
            return
        with self.lock:
            self.count += 1
            self.failed += exception is not None
            if self.count == self.expect and self.path and self.first is not None:
                report = {"count": self.count, "failed": self.failed,
                          "seconds": time.perf_counter() - self.first,
                          "cpu_seconds": time.process_time() - self.cpu}
                with open(self.path, "w") as out:
                    json.dump(report, out)


def main() -> None:
    from shared.broker import build_broker, declare_job
    from shared.settings import Settings

    settings = Settings()

    def bench_noop(payload: dict[str, Any]) -> None:
        return None

    if os.environ.get("ATENDE_BENCH_STOCK"):
        from dramatiq.brokers.rabbitmq import RabbitmqBroker

        broker: dramatiq.Broker = RabbitmqBroker(url=settings.broker_url)
        broker.add_middleware(Probe())
        declare: Any = dramatiq.actor(broker=broker, actor_name=NOOP_ACTOR,
                                      queue_name=STOCK_QUEUE)
        declare(bench_noop)
    else:
        broker = build_broker(settings)
        declare_job(broker, bench_noop, actor_name=NOOP_ACTOR, queue_name=NOOP_QUEUE,
                    settings=settings)
    worker = dramatiq.Worker(broker, worker_threads=settings.worker_threads,
                             worker_timeout=100)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    print("bench no-op worker waiting", flush=True)
    go = Path(os.environ["ATENDE_BENCH_GO"])
    while not go.exists() and not stop.wait(0.005):
        pass
    worker.start()
    print("bench no-op worker running", flush=True)
    stop.wait()
    worker.stop()
    broker.close()


if __name__ == "__main__":
    main()
