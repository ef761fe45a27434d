"""Fixtures of the domain layer: a frozen clock, the platform's topology as the services
declare it, and a store over a table in the test's temporary directory."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.followups.contract import CONTRACT as FOLLOWUPS
from services.meetings.contract import CONTRACT as MEETINGS
from services.requests.contract import CONTRACT as REQUESTS
from services.reviews.contract import CONTRACT as REVIEWS
from shared.clock import FrozenClock
from shared.settings import Settings
from shared.tables.sqlite import SQLiteDatabase
from shared.topology import Topology
from tests.domain.support import NOON, Store

TOPOLOGY = Topology.of([REQUESTS, FOLLOWUPS, MEETINGS, REVIEWS])


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(NOON)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "var")


@pytest.fixture
def store(tmp_path: Path, clock: FrozenClock) -> Store:
    return Store(SQLiteDatabase(tmp_path / "domain.db").table("domain"), clock, TOPOLOGY)
