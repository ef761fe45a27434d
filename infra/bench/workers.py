"""Suite 3: events applied per second by one ``atende worker`` process, against a no-op
Dramatiq actor on the same broker: the same number of messages waits on the queue
before each worker starts, and the worker's own probe times the drain."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import dramatiq
from dramatiq import Message

from infra import services
from infra.bench import brokers
from infra.bench.probe import NOOP_ACTOR, NOOP_QUEUE, STOCK_QUEUE
from infra.bench.procs import Proc, atende, env_for
from infra.bench.seed import ATTENDANT, seed
from shared import messages as m
from shared.broker import build_broker
from shared.settings import Settings
from shared.topology import actor_of, queue_of

Row = dict[str, Any]


def _probed(env: dict[str, str], actor: str, n: int, probe: Path) -> dict[str, str]:
    probe.unlink(missing_ok=True)
    return env | {"ATENDE_BROKER_MIDDLEWARE": json.dumps(["infra.bench.probe:Probe"]),
                  "ATENDE_BENCH_ACTOR": actor, "ATENDE_BENCH_EXPECT": str(n),
                  "ATENDE_BENCH_PROBE": str(probe)}


def _drained(proc: Proc, probe: Path, n: int) -> dict[str, Any]:
    deadline = time.monotonic() + 60 + n / 20
    while not probe.exists():
        if proc.popen.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"worker did not drain {n} messages: {proc.tail()}")
        time.sleep(0.02)
    time.sleep(0.05)  # the probe file is written in one call; let it land
    return dict(json.loads(probe.read_text()))


def _enqueue(broker: dramatiq.Broker, queue: str, actor: str, docs: list[dict[str, Any]]
             ) -> None:
    for doc in docs:
        broker.enqueue(Message(queue_name=queue, actor_name=actor, args=(doc,), kwargs={},
                               options={}))


def run(work: Path, kind: str, *, events: int) -> list[Row]:
    """The queues are filled before any worker starts; each no-op worker waits (its
    imports done) until the one before it has drained its queue. On RabbitMQ a third
    drains on Dramatiq's own broker, as information."""
    url = brokers.url_for(kind)
    stock = kind == "rabbitmq"
    queues = (*(q for q, _ in services.queues()), NOOP_QUEUE, *((STOCK_QUEUE,) if stock else ()))
    brokers.reset(kind, queues)
    seeded = seed(work / f"worker-{kind}", events, in_service=False)
    broker = build_broker(Settings(broker_url=url))
    for q in queues[:-1] if stock else queues:
        broker.declare_queue(q)
    author = m.Party(sub=ATTENDANT.sub, name=ATTENDANT.name)
    # One event per request, as a busy unit's would be; the no-op gets the same documents.
    docs = [m.FollowupPosted(request_id=rid, followup_id=f"f-{rid}", author=author,
                             author_role="attendant").model_dump(mode="json")
            for rid in seeded.request_ids]
    _enqueue(broker, queue_of("requests"), actor_of("requests"), docs)
    _enqueue(broker, NOOP_QUEUE, NOOP_ACTOR, docs)
    broker.close()
    if stock:
        _enqueue_stock(url, docs)
    env, logs = env_for(seeded.data_dir, url), work / "logs"
    probe = work / f"worker-{kind}.json"
    with atende("worker", env=_probed(env, actor_of("requests"), events, probe),
                log=logs / f"worker-{kind}.log") as worker:
        applied = _drained(worker, probe, events)
        worker.stop()
    base = _noop(work, kind, env, events)
    rate, base_rate = events / applied["seconds"], events / base["seconds"]
    # Each process's CPU per message, as information: what a crowded machine blurs least.
    cpu, base_cpu = (1e6 * p["cpu_seconds"] / events for p in (applied, base))
    rows = [{"suite": "worker", "name": f"no-op actor ({kind})", "rps": base_rate,
             "failed": base["failed"], "cpu_us": base_cpu},
            {"suite": "worker", "name": f"atende worker ({kind})", "rps": rate,
             "failed": applied["failed"], "ratio": rate / base_rate, "cpu_us": cpu,
             "cpu_ratio": base_cpu / cpu}]
    if stock:
        ref = _noop(work, "stock", env | {"ATENDE_BENCH_STOCK": "1"}, events)
        ref_rate, ref_cpu = events / ref["seconds"], 1e6 * ref["cpu_seconds"] / events
        rows.insert(1, {"suite": "worker", "name": "no-op actor (rabbitmq, stock Dramatiq)",
                        "rps": ref_rate, "failed": ref["failed"], "cpu_us": ref_cpu})
        rows[-1]["stock_ratio"] = rate / ref_rate
    return rows


def _noop(work: Path, kind: str, env: dict[str, str], events: int) -> dict[str, Any]:
    """A no-op worker's drain of its queue, started (imports paid) before it may begin."""
    go, probe = work / f"go-{kind}", work / f"noop-{kind}.json"
    go.unlink(missing_ok=True)
    with Proc.python("infra.bench.probe", log=work / "logs" / f"noop-{kind}.log",
                     env=_probed(env, NOOP_ACTOR, events, probe)
                     | {"ATENDE_BENCH_GO": str(go)}) as noop:
        noop.wait_output("waiting")
        go.touch()
        return _drained(noop, probe, events)


def _enqueue_stock(url: str, docs: list[dict[str, Any]]) -> None:
    from dramatiq.brokers.rabbitmq import RabbitmqBroker

    stock = RabbitmqBroker(url=url)
    stock.declare_queue(STOCK_QUEUE)  # a classic queue, as Dramatiq declares it
    _enqueue(stock, STOCK_QUEUE, NOOP_ACTOR, docs)
    stock.close()
