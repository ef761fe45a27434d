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
from shared.messages import Event, kernel_events

KERNEL = Path(__file__).resolve().parents[1] / "shared"


def _own(name: str, cls: type[Event]) -> bool:
    return cls.__module__.startswith(f"services.{name}.")


def _schemas(refs: tuple[str | type[Event], ...]) -> dict[str, type[Event]]:
    return {r.__name__: r for r in refs if not isinstance(r, str)}


def _publisher_schemas() -> dict[str, type[Event]]:
    """Every event type's schema: the kernel's, and those the services publish."""
    found = dict(kernel_events())
    for name in SERVICES:
        found |= _schemas(contract(name).publishes)
    return found


def test_every_event_has_one_publisher_and_each_consumed_event_is_published() -> None:
    publishers: dict[str, list[str]] = {}
    for name in SERVICES:
        for event_type in contract(name).published:
            publishers.setdefault(event_type, []).append(name)
    assert set(publishers) == set(_publisher_schemas()), \
        "an event type without a publisher, or unknown"
    assert all(len(names) == 1 for names in publishers.values()), publishers
    for name in SERVICES:
        assert set(contract(name).consumed) <= set(publishers), name


@pytest.mark.parametrize("name", SERVICES)
def test_a_service_declares_its_own_event_schemas_in_its_folder(name: str) -> None:
    """A published schema is the publisher's own and shadows no kernel event; a consumed
    type the kernel does not define is read with the consumer's own model."""
    c: Contract = contract(name)
    for type_name, cls in _schemas(c.publishes).items():
        assert _own(name, cls), f"{name} publishes {cls.__module__}.{type_name}"
        assert type_name not in kernel_events(), f"{type_name} shadows the kernel's"
    readers = _schemas(c.consumes) | _schemas(c.publishes)
    for type_name in c.consumed:
        assert type_name in kernel_events() or type_name in readers, \
            f"{name} consumes {type_name} by name: give its reader model instead"


@pytest.mark.parametrize("name", SERVICES)
def test_a_reader_model_reads_only_what_its_publisher_sends(name: str) -> None:
    """A consumer's model of another service's event (a tolerant reader): in its own
    folder, extra fields ignored, and every field it reads is one the publisher's
    schema has."""
    schemas = _publisher_schemas()
    own = _schemas(contract(name).publishes)
    for type_name, reader in _schemas(contract(name).consumes).items():
        if own.get(type_name) is reader:
            continue  # the service reads its own event with its schema
        assert _own(name, reader) or reader is kernel_events().get(type_name), \
            f"{name} reads {type_name} with {reader.__module__}"
        assert reader.model_config.get("extra") == "ignore", type_name
        missing = set(reader.model_fields) - set(schemas[type_name].model_fields)
        assert not missing, f"{name} reads {type_name}.{sorted(missing)}, never sent"


def test_the_topology_is_what_the_contracts_say() -> None:
    t = topology()
    assert set(t.consumers("FollowupPosted")) == {"requests", "followups"}
    assert set(t.consumers("RequestApproved")) == {"followups", "meetings", "reviews"}
    assert t.consumers("MeetingReminderDue") == ("followups",)


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
