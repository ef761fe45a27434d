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
from infra.services import SERVICES, contract, load_service, topology
from shared.contract import Contract, Job
from shared.errors import DomainError
from shared.messages import Event, kernel_events
from shared.topology import Topology, queue_of, queue_of_job

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


def test_a_deferred_topology_knows_the_jobs_queues_of_their_own() -> None:
    deferred = Topology.deferred(lambda: [contract(n) for n in SERVICES])
    assert deferred.job_queue("followups", "followups_send_mail") == "followups-mail"
    assert deferred.job_queue("reviews", "reviews_screen") == queue_of("reviews")
    assert Topology().job_queue("followups", "followups_send_mail") == queue_of("followups")


def test_a_job_queue_of_its_own_is_named_as_a_queue() -> None:
    for bad in ("events", "Mail", "mail-out", "m" * 21):
        with pytest.raises(ValueError):
            Job("a", queue=bad)
    with pytest.raises(ValueError, match="twice"):
        Contract("svc", (), jobs=("a", Job("a", queue="mail")))


@pytest.mark.parametrize("name", SERVICES)
def test_each_job_runs_where_its_contract_sends_it(harness, name: str) -> None:
    """Every job of the contract has its actor, declared on the queue the outbox sends the
    job to (its own, or the service's event queue)."""
    broker = harness.platform.broker
    declared = contract(name)
    for job in declared.jobs:
        actor = job.actor if isinstance(job, Job) else job
        assert broker.get_actor(actor).queue_name == queue_of_job(declared, actor)
        assert topology().job_queue(name, actor) == queue_of_job(declared, actor)


@pytest.mark.parametrize("name", SERVICES)
def test_each_app_serves_exactly_what_its_contract_declares(harness, name: str) -> None:
    platform: Platform = harness.platform
    served = {(m.method, route.path) for route in inspect.inspect_routes(platform.apps[name])
              for m in route.methods if not m.internal
              and route.path not in ("/health", "/openapi.json")}
    declared = {(op.method, op.path) for op in contract(name).operations}
    assert served == declared


def _kernel_strings() -> list[tuple[Path, str]]:
    """Every string constant in shared/ but docstrings."""
    found = []
    for path in KERNEL.rglob("*.py"):
        tree = ast.parse(path.read_text())
        docs = {id(n.body[0].value) for n in ast.walk(tree)
                if isinstance(n, ast.Module | ast.ClassDef | ast.FunctionDef)
                and n.body and isinstance(n.body[0], ast.Expr)}
        found += [(path, n.value) for n in ast.walk(tree) if isinstance(n, ast.Constant)
                  and isinstance(n.value, str) and id(n) not in docs]
    return found


def _service_errors() -> set[type[DomainError]]:
    for name in SERVICES:
        load_service(name)
    found, todo = set(), [DomainError]
    while todo:
        for sub in todo.pop().__subclasses__():
            todo.append(sub)
            if sub.__module__.startswith("services."):
                found.add(sub)
    return found


def test_the_kernel_holds_none_of_a_services_vocabulary() -> None:
    """No route path or problem code of a service is written in the kernel: the service
    declares it (its contract, its error classes) and the kernel renders what is declared.
    (Its query parameters: tests/ops/test_openapi_doc.py, against the document.)"""
    codes = {e.code for e in _service_errors()}
    assert codes >= {"already_reviewed", "outside_join_window"}
    paths = {op.path for name in SERVICES for op in contract(name).operations}
    for path, text in _kernel_strings():
        assert text not in codes, f"{path}: {text!r}"
        assert not any(p in text for p in paths), f"{path}: {text!r}"


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
