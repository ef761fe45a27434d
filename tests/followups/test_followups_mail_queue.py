"""The mail job's queue and threads of its own (contract.Job): its messages go to
"followups-mail", not to the service's event queue; a mail server that hangs holds the
I/O threads alone, so event deliveries keep being applied; its dead letters are listed and
replayed under that queue."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from typing import Any

import dramatiq
import pytest
from dramatiq import Message
from dramatiq.brokers.stub import StubBroker

from infra import ops
from infra.bootstrap import Platform, build
from services.followups.contract import CONTRACT, MAIL_ACTOR
from shared.mail import Mail
from shared.outbox import Relay
from shared.settings import Settings
from shared.topology import actor_of, queue_of, queues_of
from tests.followups.followups_support import (
    ASSIGNEE,
    CITIZEN,
    MAIL_QUEUE,
    FailingMailer,
    RecordingMailer,
    analysis,
    approved,
    feed,
    inbox,
    submitted,
)
from tests.live import eventually


class BlockedMailer:
    """A mail server that takes a connection and answers nothing until released."""

    def __init__(self) -> None:
        self.started = threading.Event()
        self.release = threading.Event()
        self.sent: list[Mail] = []

    def send(self, mail: Mail) -> None:
        self.started.set()
        self.release.wait(60)  # bounded: a failing test must not hang the run
        self.sent.append(mail)


class Running:
    """Platforms built for a test, and their workers, stopped at its end."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.platforms: list[Platform] = []
        self.workers: list[dramatiq.Worker] = []

    def build(self, **overrides: Any) -> Platform:
        platform = build(self.settings.model_copy(update=overrides))
        self.platforms.append(platform)
        return platform

    def start(self, platform: Platform) -> list[dramatiq.Worker]:
        started = platform.start_workers()
        self.workers += started
        return started


@pytest.fixture
def running(settings: Settings) -> Iterator[Running]:
    run = Running(settings)
    yield run
    for worker in run.workers:
        worker.stop()
    for platform in run.platforms:
        platform.broker.close()


def test_the_contract_gives_mail_a_queue_of_its_own() -> None:
    assert queues_of(CONTRACT) == (queue_of("followups"), MAIL_QUEUE)


def test_a_mail_job_lands_on_its_own_queue(running: Running) -> None:
    platform = running.build()
    h = _Bare(platform)
    feed(h, submitted("r1"), analysis("r1"))  # the citizen is told, and mailed
    broker: Any = platform.broker
    waiting = [Message.decode(m) for m in list(broker.queues[MAIL_QUEUE].queue)]
    assert [m.actor_name for m in waiting] == [MAIL_ACTOR]
    events = [Message.decode(m) for m in list(broker.queues[queue_of("followups")].queue)]
    assert MAIL_ACTOR not in {m.actor_name for m in events}
    entry = next(e for e in platform.contexts["followups"].table.query(
        "OUTBOX", limit=100).items if e.get("actor") == MAIL_ACTOR)
    assert entry["queue"] == MAIL_QUEUE  # the relay's sweep sends it there too


def test_a_relay_that_never_declared_the_mail_queue_sends_there(running: Running) -> None:
    """The stream relay and the scheduler's sweep run no followups code: the entry names
    its queue, which their broker declares when it first sends there."""
    platform = running.build()
    feed(_Bare(platform), submitted("r1"), analysis("r1"))
    table = platform.contexts["followups"].table
    entries = [e for e in table.query("OUTBOX", limit=100).items if e.get("actor")]
    broker = StubBroker()
    relay = Relay(broker, platform.clock, durable=True)
    assert MAIL_QUEUE not in broker.get_declared_queues()
    assert relay.dispatch(table, entries) == 1
    [waiting] = [Message.decode(m) for m in list(broker.queues[MAIL_QUEUE].queue)]
    assert waiting.actor_name == MAIL_ACTOR
    broker.close()


def test_events_are_applied_while_the_mail_server_hangs(running: Running) -> None:
    """One worker thread, one I/O thread: the mail that hangs holds the I/O thread, and
    the event thread goes on applying what the followups queue brings."""
    platform = running.build(worker_threads=1, io_threads=1)
    mailer = BlockedMailer()
    platform.contexts["followups"].deps.mailer = mailer
    running.start(platform)
    deliver(platform, submitted("r1"), analysis("r1"))
    assert mailer.started.wait(20), "the citizen's mail never went to the mail server"
    deliver(platform, approved("r1"))
    h = _Bare(platform)
    eventually(lambda: [n["kind"] for n in inbox(h, ASSIGNEE.sub)] == ["request_assigned"])
    assert mailer.sent == []  # still hanging: the event went past it
    mailer.release.set()
    eventually(lambda: len(mailer.sent) == 3)  # analysis_started, approved, assigned
    assert sorted(m.to for m in mailer.sent) == [ASSIGNEE.email, CITIZEN.email,
                                                 CITIZEN.email]


def test_without_io_threads_the_mail_queue_is_left_to_other_workers(
        running: Running) -> None:
    platform = running.build(io_threads=0)
    workers = running.start(platform)
    assert [w.consumer_whitelist for w in workers] == [
        {q for q in platform.broker.get_declared_queues() if q != MAIL_QUEUE}]


def test_the_two_pools_start_without_a_warning(running: Running,
                                              caplog: pytest.LogCaptureFixture) -> None:
    platform = running.build()
    with caplog.at_level(logging.WARNING):
        workers = running.start(platform)
    assert len(workers) == 2
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == []


def test_the_mail_queues_dead_letters_are_listed_and_replayed(
        settings: Settings, running: Running) -> None:
    """On the in-process broker a dead letter is its outbox entry: listed under the mail
    queue, and replayed onto it."""
    platform = running.build()
    platform.contexts["followups"].deps.mailer = FailingMailer()
    running.start(platform)
    feed(_Bare(platform), submitted("r1"), analysis("r1"))
    dead = eventually(lambda: ops.dead_letters(settings))
    assert [(d.queue, d.actor) for d in dead] == [(MAIL_QUEUE, MAIL_ACTOR)]
    recording = RecordingMailer()
    platform.contexts["followups"].deps.mailer = recording
    assert ops.replay(settings, [dead[0].id]) == 1
    platform.relay.sweep(min_age=0)
    eventually(lambda: [m.to for m in recording.sent] == [CITIZEN.email])
    assert ops.dead_letters(settings) == []


def deliver(platform: Platform, *events: Any) -> None:
    """Events as the requests service's outbox sends them: on the followups queue."""
    for event in events:
        platform.broker.enqueue(Message(
            queue_name=queue_of("followups"), actor_name=actor_of("followups"),
            args=(event.model_dump(mode="json"),), kwargs={}, options={}))


class _Bare:
    """What the followups helpers read of a harness: the platform and its tables."""

    def __init__(self, platform: Platform) -> None:
        self.platform = platform

    def table(self, service: str) -> Any:
        return self.platform.contexts[service].table

