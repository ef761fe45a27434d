"""The services' declarations are the only place the platform learns about them: every
event has one publisher and reaches its consumers, every app serves what it declares, and
the kernel names no service."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
from falcon import inspect

from infra.bootstrap import Platform
from infra.services import SERVICES, contract, topology
from shared.contract import Contract
from shared.messages import _REGISTRY
from shared.topology import Topology

KERNEL = Path(__file__).resolve().parents[1] / "shared"


def test_every_event_has_one_publisher_and_each_consumed_event_is_published() -> None:
    publishers: dict[str, list[str]] = {}
    for name in SERVICES:
        for event_type in contract(name).publishes:
            publishers.setdefault(event_type, []).append(name)
    # The concrete types: a base (RequestEvent) is never published as itself.
    concrete = {n for n, cls in _REGISTRY.items()
                if not any(o is not cls and issubclass(o, cls) for o in _REGISTRY.values())}
    assert set(publishers) == concrete, "an event type without a publisher, or unknown"
    assert all(len(names) == 1 for names in publishers.values()), publishers
    for name in SERVICES:
        assert set(contract(name).consumes) <= set(publishers), name


def test_the_topology_is_what_the_contracts_say() -> None:
    t = topology()
    assert set(t.consumers("FollowupPosted")) == {"requests", "followups"}
    assert set(t.consumers("RequestApproved")) == {"followups", "meetings", "reviews"}
    assert t.consumers("MeetingReminderDue") == ("followups",)


def test_a_deferred_topology_reads_the_contracts_once_when_first_asked() -> None:
    reads: list[int] = []

    def contracts() -> list[Contract]:
        reads.append(1)
        return [contract(n) for n in SERVICES]

    deferred, now = Topology.deferred(contracts), Topology.of(contract(n) for n in SERVICES)
    assert reads == []
    assert deferred.event_types() == now.event_types()
    assert all(deferred.consumers(e) == now.consumers(e) for e in now.event_types())
    assert reads == [1]


@pytest.mark.parametrize("name", SERVICES)
def test_each_app_serves_exactly_what_its_contract_declares(harness, name: str) -> None:
    platform: Platform = harness.platform
    served = {(m.method, route.path) for route in inspect.inspect_routes(platform.apps[name])
              for m in route.methods if not m.internal
              and route.path not in ("/health", "/openapi.json")}
    declared = {(op.method, op.path) for op in contract(name).operations}
    assert served == declared


def test_the_kernel_names_no_service() -> None:
    names = re.compile(r"\b(" + "|".join(SERVICES) + r")\b")
    for path in KERNEL.rglob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Import | ast.ImportFrom):
                modules = [a.name for a in node.names] if isinstance(node, ast.Import) \
                    else [node.module or ""]
                assert not any(m.startswith("services") for m in modules), path
            if isinstance(node, ast.Name | ast.Attribute):
                ident = node.id if isinstance(node, ast.Name) else node.attr
                assert not names.fullmatch(ident), f"{path}: {ident}"
            if isinstance(node, ast.Constant) and isinstance(node.value, str) \
                    and not isinstance(getattr(node, "parent", None), ast.Expr):
                assert not names.fullmatch(node.value), f"{path}: {node.value!r}"
