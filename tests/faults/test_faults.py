"""The fault suite, quick form: on each broker, complete workflows run concurrently through
the gateway of real processes while the HTTP side and the workers are SIGKILLed and
restarted, the broker is cut off for a while (Redis, RabbitMQ), a share of messages is
delivered twice and late, and two poison messages arrive (one makes its actor raise every
time, one kills its worker every time). Then, from outside: nothing acknowledged lost,
nothing applied twice, the outbox empty, both poisons dead-lettered and listed by
`atende ops dead-letters`. The long run is `python -m tests.faults.run` (see run.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.faults.run import problems, run
from tests.helpers import SHARED_SERVERS

pytestmark = [pytest.mark.brokers, pytest.mark.slow]


@pytest.mark.parametrize("broker", ["embedded", "redis",
                                    pytest.param("rabbitmq", marks=SHARED_SERVERS)])
def test_nothing_acknowledged_is_lost_nor_applied_twice(broker: str, tmp_path: Path) -> None:
    f = run(broker, tmp_path, workflows=12, kills=2, outage=2.0, seed=7, patience=60.0)
    print(f"\n{f.line()}")
    assert f.kills == 2 and f.completed == f.workflows
    assert f.duplicates > 0  # the run did deliver messages twice
    if broker != "embedded":
        assert f.outage_seconds >= 2.0
    assert problems(f) == []
    assert f.lost == 0 and f.duplicated == 0
