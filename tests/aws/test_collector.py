"""A function's first event runs with the cyclic garbage collector paused, and what it
built is frozen out of later collections (infra/aws/collector.py)."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from typing import Any

import pytest

from infra.aws.collector import first_event_paused


@pytest.fixture
def collector() -> Iterator[None]:
    enabled = gc.isenabled()
    yield
    gc.unfreeze()
    (gc.enable if enabled else gc.disable)()


def _recording(seen: list[bool]) -> Any:
    def handle(event: dict[str, Any], context: Any) -> dict[str, Any]:
        seen.append(gc.isenabled())
        if event.get("fail"):
            raise RuntimeError("boom")
        return {}

    return handle


def test_the_first_event_runs_paused_and_leaves_what_it_built_frozen(collector: None
                                                                       ) -> None:
    gc.enable()
    seen: list[bool] = []
    handler = first_event_paused(_recording(seen))
    frozen = gc.get_freeze_count()
    handler({}, None)
    assert gc.isenabled() and gc.get_freeze_count() > frozen
    handler({}, None)
    assert seen == [False, True]


def test_a_first_event_that_fails_turns_the_collector_back_on(collector: None) -> None:
    gc.enable()
    seen: list[bool] = []
    handler = first_event_paused(_recording(seen))
    with pytest.raises(RuntimeError):
        handler({"fail": True}, None)
    assert gc.isenabled()
    handler({}, None)
    assert seen == [False, True]


def test_a_collector_someone_turned_off_is_theirs_to_turn_on(collector: None) -> None:
    gc.disable()
    frozen = gc.get_freeze_count()
    first_event_paused(_recording([]))({}, None)
    assert not gc.isenabled() and gc.get_freeze_count() == frozen
