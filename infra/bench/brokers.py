"""The real brokers the bench runs on, isolated from anything else using them: Redis
database 14, flushed first; a RabbitMQ virtual host of its own, its queues deleted first."""

from __future__ import annotations

import os
import shutil
import subprocess
import time

REDIS_URL = os.environ.get("ATENDE_BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")
AMQP_VHOST = "atende-bench"
AMQP_URL = os.environ.get("ATENDE_BENCH_AMQP_URL",
                          f"amqp://guest:guest@127.0.0.1:5672/{AMQP_VHOST}")


def _ensure_vhost() -> None:
    # Created through rabbitmqctl where this machine has it (and the right to use it);
    # otherwise ATENDE_BENCH_AMQP_URL must name a virtual host that exists.
    ctl = shutil.which("rabbitmqctl")
    if ctl is None or "ATENDE_BENCH_AMQP_URL" in os.environ:
        return
    subprocess.run([ctl, "add_vhost", AMQP_VHOST], capture_output=True, timeout=60)
    subprocess.run([ctl, "set_permissions", "-p", AMQP_VHOST, "guest", ".*", ".*", ".*"],
                   capture_output=True, timeout=60)


def url_for(kind: str) -> str:
    return {"memory": "memory://", "redis": REDIS_URL, "rabbitmq": AMQP_URL}[kind]


def wait_drained(queues: tuple[str, ...], timeout: float = 120.0) -> float:
    """Wait until the Redis queues named are empty (their worker caught up), at most
    ``timeout`` seconds; how long it took."""
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    began = time.monotonic()
    try:
        while time.monotonic() - began < timeout and any(
                client.llen(f"dramatiq:{q}") for q in queues):
            time.sleep(0.25)
    finally:
        client.close()
    return time.monotonic() - began


def reset(kind: str, queues: tuple[str, ...]) -> None:
    """Empty the bench's broker before a run: nothing left over may be counted."""
    if kind == "redis":
        import redis

        client = redis.Redis.from_url(REDIS_URL)
        client.flushdb()
        client.close()
    elif kind == "rabbitmq":
        # Deleted, not purged: declared anew, they are what a new deployment gets (quorum
        # queues), whatever an earlier version of the bench left in the virtual host.
        _ensure_vhost()
        import pika
        from dramatiq.common import dq_name, xq_name

        conn = pika.BlockingConnection(pika.URLParameters(AMQP_URL))
        channel = conn.channel()
        for q in queues:
            for name in (q, dq_name(q), xq_name(q)):
                channel.queue_delete(name)
        conn.close()
