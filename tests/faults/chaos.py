"""Fault injection inside the platform's own processes, for the fault suite only.

Loaded through ``ATENDE_BROKER_MIDDLEWARE='["tests.faults.chaos:Chaos"]'``. It
- sends a delayed second copy of a share of the relay's messages (``ATENDE_CHAOS_DUPLICATE``,
  a probability): every consumer sees those events twice, the copy late, after newer ones;
- declares the poison actor that kills its worker process (SIGKILL) every time it runs;
- on Redis, notices a killed worker in seconds instead of Dramatiq's minute, so a run of
  many kills stays short (the same recovery, sooner).
Each injected fault is appended as a line to ``ATENDE_CHAOS_LOG``, for the run's figures.
"""

from __future__ import annotations

import os
import random
import signal
import uuid
from typing import Any

import dramatiq
from dramatiq import Message
from dramatiq.middleware import Middleware

from shared.topology import queue_of

KILL_ACTOR = "chaos_kill_worker"


def note(line: str) -> None:
    path = os.environ.get("ATENDE_CHAOS_LOG")
    if path:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, f"{line}\n".encode())
        finally:
            os.close(fd)


def kill_worker(payload: dict[str, Any]) -> None:
    note(f"poison-kill {os.getpid()}")
    os.kill(os.getpid(), signal.SIGKILL)


class Chaos(Middleware):
    def __init__(self) -> None:
        self.duplicate = float(os.environ.get("ATENDE_CHAOS_DUPLICATE", "0"))
        self.rng = random.Random()

    def before_worker_boot(self, broker: dramatiq.Broker, worker: Any) -> None:
        dramatiq.actor(kill_worker, broker=broker, actor_name=KILL_ACTOR,
                       queue_name=queue_of("requests"), max_retries=0)
        if hasattr(broker, "heartbeat_timeout"):  # Redis
            broker.heartbeat_timeout = 2_000
            broker.maintenance_chance = 200_000  # per million commands

    def before_enqueue(self, broker: dramatiq.Broker, message: Message, delay: int | None
                       ) -> None:
        options = message.options
        # Only the relay's first hand-over of an event: not a copy, not a retry, not poison.
        if ("outbox" not in options or "chaos_copy" in options or delay
                or message.actor_name == KILL_ACTOR or self.rng.random() >= self.duplicate):
            return
        copy = message.copy(message_id=str(uuid.uuid4()),
                            options={**options, "chaos_copy": True})
        broker.enqueue(copy, delay=self.rng.randint(100, 1500))
        note(f"duplicate {message.actor_name}")
