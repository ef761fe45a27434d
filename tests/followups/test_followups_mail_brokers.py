"""The mail queue on the real brokers: declared like the event queues (a quorum queue on
RabbitMQ), and its dead letters listed and replayed by `atende ops` under its own name."""

from __future__ import annotations

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
    MAIL_QUEUE,
    FailingMailer,
    RecordingMailer,
    analysis,
    feed,
    submitted,
)
from tests.helpers import BROKER_KINDS, SHARED_SERVERS
from tests.live import eventually

pytestmark = [pytest.mark.brokers, SHARED_SERVERS]


class _Bare:
    def __init__(self, platform: Any) -> None:
        self.platform = platform

    def table(self, service: str) -> Any:
        return self.platform.contexts[service].table


@pytest.mark.parametrize("broker_url", BROKER_KINDS, indirect=True)
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
