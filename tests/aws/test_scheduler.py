"""The scheduler tick's Lambda handler under moto: the sweep finds what waits in every
service's outbox, the reads and the jobs run at once, and a tick with nothing to do builds
no broker and loads no service beyond its periodic jobs' modules."""

from __future__ import annotations

import subprocess
import sys
import threading
from base64 import b64decode
from datetime import timedelta
from typing import Any

import pytest

from infra.aws import runtime, scheduler
from infra.services import PERIODIC, SERVICES, load_service, periodic, topology
from shared.aws import client
from shared.clock import FrozenClock, SystemClock
from shared.outbox import OUTBOX_PK, UnitOfWork
from shared.settings import Settings
from shared.tables import Page
from shared.tables.dynamodb import dynamodb_tables
from shared.topology import queue_of
from tests.aws.lambda_events import sqs_poll


def test_periodic_names_the_services_that_declare_periodic_jobs() -> None:
    # A job list is built from its context, which none of them reads to build it.
    ctx: Any = None
    declared = tuple(n for n in SERVICES if load_service(n).periodic(ctx))
    assert declared == tuple(PERIODIC)
    # The module the tick imports alone gives the very jobs the service declares.
    assert all(load_service(n).periodic is periodic(n) for n in PERIODIC)


def _task(table: Any, clock: Any, job_id: str) -> dict[str, Any]:
    """An outbox entry written as if its commit's own send had failed."""
    with UnitOfWork(table, None, clock, topology()) as uow:
        uow.send_task("followups", "followups_notify", {"id": job_id, "request_id": "r"})
        uow.commit()
    return uow.entries[0]


def test_a_tick_sends_what_waits_in_every_services_outbox(aws: Settings) -> None:
    tables = dynamodb_tables(aws, SERVICES)
    old = FrozenClock(SystemClock().now() - timedelta(minutes=1))
    waiting = {name: _task(table, old, f"t-{name}") for name, table in tables.items()}
    fresh = _task(tables["reviews"], SystemClock(), "t-fresh")  # its own commit may send it

    assert scheduler.handler({}, None) == {"jobs": 1, "failed": 0, "swept": len(SERVICES)}

    assert all(tables[n].get(OUTBOX_PK, e["sk"]) is None for n, e in waiting.items())
    assert tables["reviews"].get(OUTBOX_PK, fresh["sk"]) is not None
    got = sqs_poll(client(aws, "sqs"), f"atende-test_{queue_of('followups')}",
                   max_messages=10)["Records"]
    sent = sorted(b64decode(r["body"]).decode() for r in got)
    assert all(any(f"t-{n}" in body for body in sent) for n in SERVICES)
    assert not any("t-fresh" in body for body in sent)
    assert scheduler.handler({}, None)["swept"] == 0


class _Table:
    """A table whose outbox read waits until every party of ``meet`` is running."""

    def __init__(self, name: str, meet: threading.Barrier) -> None:
        self.name, self.meet = name, meet

    def query(self, pk: str, **query: Any) -> Page:
        self.meet.wait()
        return Page([])


def test_the_outboxes_are_read_at_once_and_beside_the_jobs(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Every table's read and the job wait for one another: in turn, the first would wait
    for the others forever (the barrier's timeout breaks it instead)."""
    meet = threading.Barrier(len(SERVICES) + 1, timeout=30)
    monkeypatch.setattr(runtime, "tables", lambda: {n: _Table(n, meet) for n in SERVICES})
    monkeypatch.setattr(runtime, "periodic_jobs", lambda: [meet.wait])

    def no_relay() -> Any:
        raise AssertionError("nothing to send: no relay, no broker")

    monkeypatch.setattr(runtime, "relay", no_relay)
    assert scheduler.handler({}, None) == {"jobs": 1, "failed": 0, "swept": 0}


def test_a_failing_job_is_counted_and_the_sweep_still_runs(
        monkeypatch: pytest.MonkeyPatch) -> None:
    def boom() -> None:
        raise RuntimeError("job failed")

    meet = threading.Barrier(1)
    monkeypatch.setattr(runtime, "tables", lambda: {"requests": _Table("requests", meet)})
    monkeypatch.setattr(runtime, "periodic_jobs", lambda: [boom, lambda: None])
    assert scheduler.handler({}, None) == {"jobs": 2, "failed": 1, "swept": 0}


TICK = """
import sys
from infra.aws import runtime, scheduler
from infra.services import SERVICES
from shared.aws import client
from shared.settings import Settings
from shared.tables.dynamodb import table_name
from tests.aws.moto_env import REGION, create_table, mocked
with mocked():
    settings = Settings(data_dir={data_dir!r}, table_backend="dynamodb", blob_backend="s3",
                        broker_url="sqs://", aws_region=REGION, environment="test")
    dynamodb = client(settings, "dynamodb")
    for service in SERVICES:
        create_table(dynamodb, service, table_name(settings, service))
    runtime.configure(settings=settings)
    assert scheduler.handler({{}}, None) == {{"jobs": 1, "failed": 0, "swept": 0}}
    built = sorted(k for k in runtime._built if isinstance(k, str))
loaded = [m for m in ("services.meetings.app", "services.meetings.consumers",
                      "services.meetings.model", "shared.messages", "shared.outbox",
                      "dramatiq", "falcon") if m in sys.modules]
assert built == ["jobs", "tables"] and not loaded, (built, loaded)
"""


def test_a_tick_with_nothing_to_do_loads_no_broker_and_no_service(tmp_path: Any) -> None:
    """A fresh interpreter (this one has long loaded everything): the tick imports the
    periodic jobs' modules alone, loads the meetings' model and the event models for a
    reminder that is due, and builds the relay, its broker, only to send."""
    done = subprocess.run([sys.executable, "-c", TICK.format(data_dir=str(tmp_path))],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]


def test_a_jobs_commit_builds_the_relay_and_sends_its_entries(aws: Settings) -> None:
    """The jobs' contexts hand a commit's entries to the relay, built on that first use."""
    table = dynamodb_tables(aws, ["meetings"])["meetings"]
    with UnitOfWork(table, runtime.RelayOnUse(), SystemClock(), topology()) as uow:
        uow.send_task("followups", "followups_notify", {"id": "t-job", "request_id": "r"})
        uow.commit()
    assert table.get(OUTBOX_PK, uow.entries[0]["sk"]) is None
    got = sqs_poll(client(aws, "sqs"), f"atende-test_{queue_of('followups')}")["Records"]
    assert any("t-job" in b64decode(r["body"]).decode() for r in got)


def test_a_container_reads_its_settings_once(monkeypatch: pytest.MonkeyPatch) -> None:
    # No test's settings: the environment's (the module's own are put back after).
    monkeypatch.setattr(runtime, "_overrides", {})
    monkeypatch.setattr(runtime, "_built", {})
    assert runtime.settings() is runtime.settings()


def test_the_outbox_reads_load_no_broker_and_no_event_models() -> None:
    """What a tick needs to start its reads, before the jobs' modules load beside them."""
    code = ("import sys, shared.pending; "
            "loaded = [m for m in ('dramatiq', 'shared.messages', 'shared.outbox') "
            "if m in sys.modules]; assert not loaded, loaded")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr[-2000:]
