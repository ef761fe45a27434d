"""A cluster on one machine, as in production, quick form: two `atende serve`, two `atende
worker` and an `atende scheduler` on PostgreSQL and a real broker (Redis, RabbitMQ), every
call to either HTTP process at random. Processes of every kind are SIGKILLed, the broker is
cut off, PostgreSQL restarts mid-run, messages arrive twice and late, two poisons arrive:
nothing acknowledged is lost and nothing is applied twice. The long form is
`python -m tests.faults.run --store postgres --pg-restart` (see tests/faults/run.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.faults.run import problems, run
from tests.helpers import SHARED_SERVERS

pytestmark = [pytest.mark.brokers, SHARED_SERVERS]


@pytest.mark.parametrize("broker", ["redis", "rabbitmq"])
def test_a_postgres_cluster_loses_nothing_and_applies_nothing_twice(broker: str,
                                                                   tmp_path: Path) -> None:
    f = run(broker, tmp_path, workflows=10, kills=3, outage=2.0, seed=11, patience=90.0,
            store="postgres", pg_restart=True)
    print(f"\n{f.line()}")
    assert f.kills == 3 and f.pg_restarts == 1 and f.completed == f.workflows
    assert f.killed == {"serve": 1, "worker": 1, "scheduler": 1}
    assert len(f.http_calls) == 2 and min(f.http_calls) > 0.3 * sum(f.http_calls)
    assert f.duplicates > 0 and f.outage_seconds >= 2.0
    assert problems(f) == []
    assert f.lost == 0 and f.duplicated == 0
