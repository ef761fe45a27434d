"""Fixtures shared by every test: a whole platform on the embedded defaults, in a temp dir,
with its in-process broker and worker threads, and tokens for any caller."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import dramatiq
import pytest
from falcon import testing

from infra.bootstrap import Platform, build
from infra.gateway import gateway_for
from shared.clock import FrozenClock, SystemClock
from shared.identity import dev_secret, mint
from shared.settings import Settings
from tests.helpers import platform_broker


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    # A refusal that a newer view of the request could lift waits for it (shared.freshness):
    # half a second is ample for the in-process broker and keeps refusal tests quick.
    return Settings(data_dir=tmp_path / "var", broker_url="memory://", min_backoff_ms=10,
                    max_backoff_ms=50, max_retries=2, outbox_redeliver_seconds=5,
                    view_wait_seconds=0.5)


@pytest.fixture
def clock() -> SystemClock:
    """Real time by default; tests that need to move time override this with FrozenClock."""
    return SystemClock()


class Harness:
    """The running platform as a test sees it: the gateway, tokens, and a way to wait
    until every message (and every message those cause) has been handled."""

    def __init__(self, platform: Platform, worker: dramatiq.Worker) -> None:
        self.platform = platform
        self.worker = worker
        self.client = testing.TestClient(gateway_for(platform))
        self.secret = dev_secret(platform.settings)

    def token(self, sub: str, *roles: str, org: str | None = None, unit: str | None = None,
              name: str | None = None, email: str | None = None, ttl: int = 3600) -> str:
        s = self.platform.settings
        return mint(self.secret, sub=sub, roles=list(roles) or ["citizen"], org=org, unit=unit,
                    name=name or sub.title(), email=email, ttl=ttl,
                    issuer=s.jwt_issuer, audience=s.jwt_audience)

    def auth(self, token: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {token}"}

    def drain(self, rounds: int = 5) -> None:
        broker = self.platform.broker
        for _ in range(rounds):
            for queue in list(broker.get_declared_queues()):
                broker.join(queue, fail_fast=False, timeout=10_000)
            self.worker.join()
            idle = all(broker.queues[q].qsize() == 0 for q in broker.get_declared_queues())
            if idle and not any(broker.queues[q].unfinished_tasks for q in broker.queues):
                return

    @property
    def dead_letters(self) -> list[Any]:
        return list(self.platform.broker.dead_letters)

    def table(self, service: str) -> Any:
        return self.platform.contexts[service].table


@pytest.fixture
def make_harness(settings: Settings, clock: SystemClock | FrozenClock
                 ) -> Iterator[Callable[..., Harness]]:
    made: list[Harness] = []

    def make(**overrides: Any) -> Harness:
        s = settings.model_copy(update=overrides) if overrides else settings
        platform = build(s, clock=clock)
        worker = dramatiq.Worker(platform.broker, worker_threads=2, worker_timeout=50)
        worker.start()
        h = Harness(platform, worker)
        made.append(h)
        return h

    yield make
    for h in made:
        h.worker.stop()
        h.platform.broker.close()


@pytest.fixture
def metrics_on() -> Iterator[None]:
    """Metrics are a process-wide switch (``shared.metrics.configure``): a test that turns
    them off gets them back on after it, failing or not, so the next test counts."""
    from shared import metrics

    yield
    metrics.configure(True)


@pytest.fixture
def harness(make_harness: Callable[..., Harness]) -> Harness:
    return make_harness()


# --- running on several workers (pytest-xdist, `-n` in pyproject's addopts) ---------------

# A fixture of these tests wider than a test (a module's browser, moto world, harness)
# keeps its module's tests on one worker: set up once, and its tests see the state they
# were written to see (some run in order on one module-scoped harness). Plugins' wide
# fixtures (tmp_path_factory) and the console's assets check are once per worker anyway.
_PER_WORKER = {"console_assets"}

# Slow tests are handed out first, so that none of them starts last and runs alone.
_SLOW_FIRST = 0
_ANY = 1


@pytest.hookimpl(tryfirst=True)  # before xdist reads the groups off the marks
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if item.get_closest_marker("xdist_group"):
            continue
        info = getattr(item, "_fixtureinfo", None)
        wide = [d for defs in (info.name2fixturedefs.values() if info else ())
                for d in defs if d.scope != "function" and d.baseid
                and d.argname not in _PER_WORKER]
        if wide:
            item.add_marker(pytest.mark.xdist_group(item.nodeid.split("::")[0]))

    # By group, so that a group's tests stay together in their order.
    def group(item: pytest.Item) -> str:
        mark = item.get_closest_marker("xdist_group")
        return str(mark.args[0]) if mark else item.nodeid

    slow = {group(item) for item in items if item.get_closest_marker("slow")}
    items.sort(key=lambda item: _SLOW_FIRST if group(item) in slow else _ANY)
    if getattr(config.option, "loadgroup", False):  # on a worker of `--dist loadgroup`
        for item in items:
            if group(item) != item.nodeid:
                _tag_group(item, group(item))


def _tag_group(item: pytest.Item, name: str) -> None:
    """The group as xdist's scheduler reads it: a suffix of the test's id. pytest-xdist 3.8
    writes it to ``item._nodeid``, which pytest 9 no longer reads (its tests then went to
    any worker); pytest 8 reads it, and xdist's own hook does the work."""
    try:
        from _pytest.nodeid import coerce_node_id
    except ImportError:
        return
    if "@" not in item.nodeid.rsplit("]", 1)[-1]:
        item._id = coerce_node_id(f"{item.nodeid}@{name}")  # type: ignore[attr-defined]


@pytest.fixture
def broker_url(request: pytest.FixtureRequest) -> Iterator[str]:
    """A real broker of the kind a test is parametrized with (``indirect=True`` over
    ``tests.helpers.BROKER_KINDS``), emptied of the platform's queues and held alone."""
    with platform_broker(request.param) as url:
        yield url
