"""The mail queue on the real brokers: declared like the event queues (a quorum queue on
RabbitMQ), and its dead letters listed and replayed by `atende ops` under its own name."""

from __future__ import annotations

import fcntl
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from infra import ops
from infra.bootstrap import build
from infra.ops.queues import queue_states
from infra.services import queues
from services.followups.contract import MAIL_ACTOR
from shared.settings import Settings
from tests.followups.followups_support import (
    CITIZEN,
    FailingMailer,
    RecordingMailer,
    analysis,
    feed,
    submitted,
)
from tests.helpers import AMQP_URL, SHARED_SERVERS, redis_db
from tests.live import eventually

pytestmark = [pytest.mark.brokers, SHARED_SERVERS]

MAIL_QUEUE = "followups-mail"


def _clean_redis() -> str:
    import redis

    url = redis_db(13)  # test_split_processes' db
    client = redis.Redis.from_url(url)
    client.flushdb()
    client.close()
    return url


def _clean_rabbitmq() -> str:
    import pika
    from dramatiq.common import dq_name, xq_name

    conn = pika.BlockingConnection(pika.URLParameters(AMQP_URL))
    channel = conn.channel()
    for queue, _ in queues():
        for name in (queue, dq_name(queue), xq_name(queue)):
            channel.queue_delete(name)
    conn.close()
    return AMQP_URL


CLEANERS = {"redis": _clean_redis, "rabbitmq": _clean_rabbitmq}


@pytest.fixture
def broker_url(request: pytest.FixtureRequest) -> Iterator[str]:
    # Held alone, as the split-process test holds it: the queues are named by service.
    with open("/tmp/atende-e2e-brokers.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        url = CLEANERS[request.param]()
        yield url
        CLEANERS[request.param]()


class _Bare:
    def __init__(self, platform: Any) -> None:
        self.platform = platform

    def table(self, service: str) -> Any:
        return self.platform.contexts[service].table


@pytest.mark.parametrize("broker_url", sorted(CLEANERS), indirect=True)
def test_a_dead_mail_is_listed_and_replayed_on_its_own_queue(broker_url: str,
                                                              tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "var", broker_url=broker_url, max_retries=0,
                        min_backoff_ms=10, max_backoff_ms=50, io_threads=1)
    platform = build(settings, with_http=False)
    ctx = platform.contexts["followups"]
    ctx.deps.mailer = FailingMailer()
    workers = platform.start_workers()
    try:
        feed(_Bare(platform), submitted("r1"), analysis("r1"))  # the citizen is mailed
        dead = eventually(lambda: [d for d in ops.dead_letters(settings)
                                   if d.queue == MAIL_QUEUE])
        assert [d.actor for d in dead] == [MAIL_ACTOR]
        assert [d for d in ops.dead_letters(settings) if d.queue != MAIL_QUEUE] == []
        recording = RecordingMailer()
        ctx.deps.mailer = recording
        assert ops.replay(settings, [dead[0].id]) == 1
        eventually(lambda: [m.to for m in recording.sent] == [CITIZEN.email])
        assert ops.dead_letters(settings) == []
        if broker_url.startswith("amqp"):  # declared as the event queues are
            kinds = {s.queue: s.kind for s in queue_states(settings)}
            assert kinds == {queue: "quorum" for queue, _ in queues()}
    finally:
        for worker in workers:
            worker.stop()
        platform.broker.close()
