"""One fault run against real processes on one broker, and the command for the long run:

    .venv/bin/python -m tests.faults.run --workflows 500 --kills 20 --outage 5

(brokers: ``--broker embedded redis rabbitmq``, all three by default; Redis and RabbitMQ
from ATENDE_TEST_REDIS_URL / ATENDE_TEST_AMQP_URL, else 127.0.0.1 defaults). Prints the
figures of each run and exits non-zero if anything acknowledged was lost or applied twice.

On PostgreSQL, as a cluster of one machine (two HTTP processes, two workers, a scheduler,
in a database of the run's own), with a restart of the PostgreSQL server in the middle:

    .venv/bin/python -m tests.faults.run --store postgres --broker redis rabbitmq \
        --workflows 300 --kills 15 --outage 5 --pg-restart
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import os
import random
import shlex
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from infra.bootstrap import _tables
from infra.ops import dead_letters
from shared.clock import iso
from shared.crash_guard import CRASH_LIMIT
from shared.outbox import OUTBOX_PK
from shared.settings import Settings
from shared.tables import Put, Table
from tests.faults.chaos import KILL_ACTOR
from tests.faults.cluster import Cluster
from tests.faults.invariants import Tally, check_workflows, outbox
from tests.faults.workload import Caller, Stats, Workflow, new_workflow, run_workflow
from tests.helpers import setup_service
from tests.live import LiveClient, LiveHarness

REAL_URLS = {
    "redis": os.environ.get("ATENDE_TEST_REDIS_URL", "redis://127.0.0.1:6379/0"),
    "rabbitmq": os.environ.get("ATENDE_TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/%2F"),
    "embedded": "memory://",
}
# Queues are named by service, the same in every run on one RabbitMQ: runs that use it
# (this suite, tests/e2e) take turns on this lock.
BROKER_LOCK = {"rabbitmq": "/tmp/atende-e2e-brokers.lock", "redis": "/tmp/atende-faults-redis.lock"}
# On PostgreSQL: a Redis db of its own (so a run on SQLite may go on beside it), and the
# command that restarts the server mid-run.
PG_REDIS_DB = 7
PG_RESTART = os.environ.get("ATENDE_TEST_POSTGRES_RESTART", "pg_ctlcluster 15 main restart")


@dataclass
class Figures:
    broker: str
    store: str = "sqlite"
    workflows: int = 0
    completed: int = 0
    commands: int = 0
    kills: int = 0
    poison_deaths: int = 0
    outage_seconds: float = 0.0
    pg_restarts: int = 0
    duplicates: int = 0
    retries: dict[str, int] = field(default_factory=dict)
    http_calls: list[int] = field(default_factory=list)  # calls each HTTP process took
    killed: Counter[str] = field(default_factory=Counter)  # kills by kind of process
    dead_letters: list[str] = field(default_factory=list)
    outbox_left: dict[str, int] = field(default_factory=dict)
    tally: Tally = field(default_factory=Tally)
    errors: list[str] = field(default_factory=list)
    seconds: float = 0.0
    phases: dict[str, float] = field(default_factory=dict)

    @property
    def lost(self) -> int:
        return sum(self.tally.lost.values()) + self.workflows - self.completed

    @property
    def duplicated(self) -> int:
        return sum(self.tally.duplicated.values())

    def line(self) -> str:
        store = "" if self.store == "sqlite" else f" on {self.store}"
        restarts = f", {self.store} restarts {self.pg_restarts}" if self.pg_restarts else ""
        return (f"{self.broker}{store}: workflows {self.workflows} (completed "
                f"{self.completed}), commands acknowledged {self.commands}, kills "
                f"{self.kills} {dict(self.killed)}, poison deaths {self.poison_deaths}, outage "
                f"{self.outage_seconds:.1f}s{restarts}, duplicates "
                f"injected {self.duplicates}, lost {self.lost}, duplicated effects "
                f"{self.duplicated}, dead letters {sorted(self.dead_letters)}, outbox left "
                f"{self.outbox_left}, client retries {self.retries}, {self.seconds:.1f}s "
                f"(at {self.phases})")


@contextlib.contextmanager
def broker_turn(kind: str, redis_db: int | None = None) -> Iterator[None]:
    path = BROKER_LOCK.get(kind)
    if path is not None and kind == "redis" and redis_db is not None:
        path = path.replace(".lock", f"-{redis_db}.lock")
    if path is None:
        yield
        return
    with open(path, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def clean_broker(cluster: Cluster) -> None:
    """No message of an earlier run (dead letters included) in our queues."""
    if cluster.kind == "redis":
        import redis

        client = redis.Redis.from_url(cluster.real_url)
        client.flushdb()
        client.close()
    elif cluster.kind == "rabbitmq":
        import pika
        from dramatiq.common import dq_name, xq_name

        from infra.services import queues

        conn = pika.BlockingConnection(pika.URLParameters(cluster.real_url))
        channel = conn.channel()
        for queue, _ in queues():
            for name in (queue, dq_name(queue), xq_name(queue)):
                channel.queue_delete(name)
        conn.close()


POISON_CRASH = "poison-crash"
POISON_KILL = "poison-kill"


def send_poison(table: Table) -> None:
    """Two messages through the requests table's outbox, as a command would leave them:
    an event its consumer cannot parse (the actor raises, every time), and a job whose
    actor kills the worker process (every time)."""
    now = iso(datetime.now(UTC))
    for ident, actor, event in (
        (POISON_CRASH, None, {"type": "FollowupPosted", "id": POISON_CRASH,
                              "request_id": "poison"}),
        (POISON_KILL, KILL_ACTOR, {"type": "ChaosKill", "id": POISON_KILL,
                                   "request_id": "poison"}),
    ):
        entry = {"pk": OUTBOX_PK, "sk": f"{now}#{ident}#requests", "version": 1,
                 "service": "requests", "event": event, "status": "pending",
                 "dispatched_at": None, "created_at": now}
        if actor:
            entry["actor"] = actor
        table.transact([Put(entry, must_not_exist=True)])


def _killer(cluster: Cluster, kills: int, rng: random.Random, f: Figures) -> None:
    """Kills, each kind of process in turn (a random one of that kind)."""
    kinds = sorted(set(cluster.roles))
    for n in range(kills):
        time.sleep(rng.uniform(0.3, 2.0))
        f.killed[cluster.kill_one(rng, kinds[n % len(kinds)])] += 1
    f.kills = cluster.kills


def _outage(cluster: Cluster, seconds: float, rng: random.Random, f: Figures) -> None:
    assert cluster.proxy is not None
    time.sleep(rng.uniform(0.5, 1.5))
    cluster.proxy.cut()
    started = time.monotonic()
    time.sleep(seconds)
    cluster.proxy.restore()
    f.outage_seconds = time.monotonic() - started


def _pg_restart(rng: random.Random, f: Figures) -> None:
    """The database server restarted (fast shutdown: every session is cut) mid-run."""
    time.sleep(rng.uniform(1.0, 3.0))
    subprocess.run(shlex.split(PG_RESTART), check=True, capture_output=True, timeout=60)
    f.pg_restarts += 1


def settle(cluster: Cluster, caller: Caller, h: LiveHarness, setup: object,
           flows: list[Workflow], f: Figures, timeout: float,
           tables: Mapping[str, Table]) -> None:
    """Wait until every effect is there and the outbox is empty, then look once more after
    the late duplicates have had their time: the last look is what counts."""
    deadline = time.monotonic() + timeout
    dead_ok = "dead" if cluster.kind == "embedded" else None
    settings = Settings(data_dir=cluster.data_dir, broker_url=cluster.real_url)
    while True:
        while not cluster.all_up():
            time.sleep(0.1)
        left = outbox(tables)
        f.dead_letters = sorted({str(d.event_id) for d in dead_letters(settings)})
        poisoned = {POISON_CRASH, POISON_KILL} <= set(f.dead_letters)
        pending = sum(n for status, n in left.items() if status != dead_ok)
        tally = check_workflows(caller, setup, flows) if poisoned and not pending else None
        if tally is not None and tally.ok:
            break
        if time.monotonic() > deadline:
            break
        time.sleep(0.5)
    time.sleep(2.0)  # a duplicate copy is sent up to 1.5 s late
    f.tally = check_workflows(caller, setup, flows)
    f.outbox_left = dict(outbox(tables))
    # The operator's view: `atende ops dead-letters`, as a command of its own.
    f.dead_letters = sorted({str(d.get("event_id")) for d in cluster.ops("dead-letters")})


@contextlib.contextmanager
def _store(store: str) -> Iterator[dict[str, str]]:
    """The store's settings for every process of a run: on PostgreSQL, a database of the
    run's own, dropped after."""
    if store == "sqlite":
        yield {}
        return
    from tests.postgres.scratch import scratch_database

    with scratch_database() as url:
        yield {"ATENDE_TABLE_BACKEND": "postgres", "ATENDE_DATABASE_URL": url,
               "ATENDE_DATABASE_POOL_MAX": "6"}


def run(kind: str, base_dir: Path, *, workflows: int, kills: int, outage: float,
        concurrency: int = 8, seed: int | None = None, patience: float = 120.0,
        store: str = "sqlite", pg_restart: bool = False) -> Figures:
    rng = random.Random(seed)
    f = Figures(kind, store, workflows=workflows)
    started = time.monotonic()
    data_dir = base_dir / f"{kind}-{store}"
    data_dir.mkdir(parents=True)
    cluster_shape = ({} if store == "sqlite" or kind == "embedded" else
                     {"http": 2, "schedulers": 1, "redis_db": PG_REDIS_DB})
    with broker_turn(kind, cluster_shape.get("redis_db")), _store(store) as env:
        cluster = Cluster(kind, data_dir, REAL_URLS[kind], store=env, **cluster_shape)
        settings = Settings(data_dir=data_dir, **{k.removeprefix("ATENDE_").lower(): v
                                                  for k, v in env.items()})
        tables, database = _tables(settings)
        clean_broker(cluster)
        try:
            cluster.start()
            f.phases["start"] = round(time.monotonic() - started, 1)
            h = LiveHarness(LiveClient(cluster.base), data_dir)
            setup = setup_service(h)
            send_poison(tables["requests"])
            stats = Stats()
            caller = Caller(cluster.bases, stats, patience)
            flows = [new_workflow(h, kind, n) for n in range(workflows)]
            chaos = [threading.Thread(target=_killer, args=(cluster, kills, rng, f))]
            if outage and cluster.proxy is not None:
                chaos.append(threading.Thread(target=_outage, args=(cluster, outage, rng, f)))
            if pg_restart:
                chaos.append(threading.Thread(target=_pg_restart, args=(rng, f)))
            for t in chaos:
                t.start()
            with ThreadPoolExecutor(concurrency) as pool:
                for n, fut in enumerate([pool.submit(run_workflow, caller, setup, w)
                                         for w in flows]):
                    if (exc := fut.exception()) is not None:
                        f.errors.append(f"workflow {n}: {exc}")
            for t in chaos:
                t.join()
            f.phases["workload"] = round(time.monotonic() - started, 1)
            f.completed = sum(w.done for w in flows)
            f.commands = sum(w.acked for w in flows)
            # Bounded by the run's patience, not less: the kill poison is dead-lettered only
            # after it has taken down a worker CRASH_LIMIT times, each death waiting for the
            # outbox to send it again and for a new worker to start, which on a loaded
            # machine took longer than 30 s (a quick run once ended before it). The wait
            # ends as soon as everything is there.
            settle(cluster, caller, h, setup, flows, f, timeout=max(patience, workflows / 5),
                   tables=tables)
            f.phases["settled"] = round(time.monotonic() - started, 1)
            f.retries = dict(stats.retries)
            f.http_calls = [stats.calls[b] for b in cluster.bases]
            f.duplicates = cluster.chaos_lines("duplicate")
            f.poison_deaths = cluster.chaos_lines("poison-kill")
        finally:
            cluster.stop()
            if database is not None and hasattr(database, "close"):
                database.close()
    f.seconds = time.monotonic() - started
    return f


def deaths_allowed(broker: str) -> int:
    """How many times a message that kills its worker may do so: the crash guard's limit,
    and on RabbitMQ's quorum queues one more for a resent copy of its outbox entry (each
    copy's first run goes unwritten there, the broker counting deliveries; the run's
    broker outage can make the relay send the entry again)."""
    return CRASH_LIMIT + 1 if broker == "rabbitmq" else CRASH_LIMIT


def problems(f: Figures) -> list[str]:
    """Everything wrong with a run, empty when it held."""
    out = list(f.errors)
    if f.lost:
        out.append(f"lost: {dict(f.tally.lost)}")
    if f.duplicated:
        out.append(f"duplicated: {dict(f.tally.duplicated)}")
    if not {POISON_CRASH, POISON_KILL} <= set(f.dead_letters):
        out.append(f"poison not dead-lettered: {f.dead_letters}")
    if not 1 <= f.poison_deaths <= deaths_allowed(f.broker):
        out.append(f"the kill poison took its worker down {f.poison_deaths} times")
    allowed = {"dead": 2} if f.broker == "embedded" else {}
    if f.outbox_left != allowed:
        out.append(f"outbox left {f.outbox_left}, expected {allowed}")
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--workflows", type=int, default=500)
    p.add_argument("--kills", type=int, default=20)
    p.add_argument("--outage", type=float, default=5.0, help="seconds of broker outage")
    p.add_argument("--concurrency", type=int, default=8)
    p.add_argument("--seed", type=int)
    p.add_argument("--keep", type=Path, metavar="DIR",
                   help="keep a failing run's data and logs under DIR (deleted if it held)")
    p.add_argument("--broker", nargs="+", default=["embedded", "redis", "rabbitmq"],
                   choices=["embedded", "redis", "rabbitmq"])
    p.add_argument("--store", choices=["sqlite", "postgres"], default="sqlite",
                   help="postgres: two HTTP processes, two workers and a scheduler on a "
                        "database of the run's own (ATENDE_TEST_POSTGRES_URL's server)")
    p.add_argument("--pg-restart", action="store_true",
                   help=f"restart PostgreSQL once mid-run ({PG_RESTART})")
    args = p.parse_args(argv)
    failed = False
    with tempfile.TemporaryDirectory(prefix="atende-faults-") as tmp:
        base = Path(tempfile.mkdtemp(prefix="run-", dir=args.keep)) if args.keep else Path(tmp)
        for kind in args.broker:
            f = run(kind, base, workflows=args.workflows, kills=args.kills,
                    outage=args.outage, concurrency=args.concurrency, seed=args.seed,
                    store=args.store, pg_restart=args.pg_restart)
            print(f.line(), flush=True)
            wrong = problems(f)
            for line in wrong:
                print(f"  FAIL {line}", flush=True)
            if wrong and args.keep:
                print(f"  kept {base / f'{kind}-{args.store}'}", flush=True)
            elif args.keep:
                shutil.rmtree(base / f"{kind}-{args.store}")
            failed = failed or bool(wrong)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
