"""Events a service declares in its own folder: the publisher's schema and a consumer's
reader model of one type live in one process (the embedded platform runs every service)
without either replacing the kernel's events or each other."""

from __future__ import annotations

from pathlib import Path
from typing import Any, cast

import pytest

from shared.clock import FrozenClock
from shared.context import ServiceContext
from shared.contract import Contract
from shared.messages import Event, FollowupPosted, Party, kernel_events
from shared.outbox import UnitOfWork
from shared.service import ServiceDef
from shared.settings import Settings
from shared.tables.sqlite import SQLiteDatabase
from shared.topology import Topology


class Publisher:
    """What a publishing service's events.py would hold."""

    class ParcelShipped(Event):
        parcel_id: str
        carrier: str
        weight_grams: int


class Consumer:
    """A consumer's reader model of the same type: only what it reads."""

    class ParcelShipped(Event):
        parcel_id: str


class Elsewhere:
    """A model named like a kernel event, outside the kernel."""

    class FollowupPosted(Event):
        followup_id: str


def shipped() -> Publisher.ParcelShipped:
    return Publisher.ParcelShipped(request_id="r1", parcel_id="p1", carrier="Correios",
                                   weight_grams=350)


def test_only_the_kernels_events_register_by_name() -> None:
    assert "ParcelShipped" not in kernel_events()
    assert kernel_events()["FollowupPosted"] is FollowupPosted
    doc = FollowupPosted(request_id="r1", followup_id="f1", author=Party(sub="c1"),
                         author_role="citizen").model_dump(mode="json")
    assert type(Event.parse(doc)) is FollowupPosted
    with pytest.raises(KeyError):
        Event.parse(shipped().model_dump(mode="json"))


def test_a_services_own_model_is_read_before_the_kernels() -> None:
    doc = FollowupPosted(request_id="r1", followup_id="f1", author=Party(sub="c1"),
                         author_role="citizen").model_dump(mode="json")
    read = Event.parse(doc, {"FollowupPosted": Elsewhere.FollowupPosted})
    assert type(read) is Elsewhere.FollowupPosted
    assert (read.id, read.type, read.request_id) == (doc["id"], "FollowupPosted", "r1")


def test_a_reader_model_reads_what_it_needs_of_the_publishers_document() -> None:
    event = shipped()
    doc = event.model_dump(mode="json")
    # The wire shape: the base's fields and the event's own, the type by class name.
    assert set(doc) == {"id", "type", "occurred_at", "correlation_id", "request_id",
                        "parcel_id", "carrier", "weight_grams"}
    assert doc["type"] == "ParcelShipped"
    read = Event.parse(doc, {"ParcelShipped": Consumer.ParcelShipped})
    assert isinstance(read, Consumer.ParcelShipped)
    assert (read.id, read.occurred_at, read.parcel_id) == (event.id, event.occurred_at, "p1")
    assert not hasattr(read, "carrier")


def test_a_contract_takes_names_or_schemas_and_routes_by_name() -> None:
    publisher = Contract("post", (), publishes=(Publisher.ParcelShipped, "RosterChanged"))
    consumer = Contract("desk", (), consumes=(Consumer.ParcelShipped, "RosterChanged"))
    assert publisher.published == ("ParcelShipped", "RosterChanged")
    assert consumer.consumed == ("ParcelShipped", "RosterChanged")
    assert consumer.schemas == {"ParcelShipped": Consumer.ParcelShipped}
    assert Topology.of([publisher, consumer]).consumers("ParcelShipped") == ("desk",)
    with pytest.raises(TypeError):
        Contract("bad", (), consumes=(Party,))  # type: ignore[arg-type]
    with pytest.raises(ValueError):  # which of the two would read a delivery?
        Contract("bad", (), consumes=(Consumer.ParcelShipped, Publisher.ParcelShipped))


def test_the_bound_consumer_applies_an_event_only_its_service_declares(
        tmp_path: Path) -> None:
    table = SQLiteDatabase(tmp_path / "t.db").table("desk")
    seen: list[Event] = []

    def effect(uow: UnitOfWork, event: Event) -> None:
        seen.append(event)
        uow.put({"pk": "PARCEL", "sk": cast(Consumer.ParcelShipped, event).parcel_id,
                 "version": 1})

    service = ServiceDef(Contract("desk", (), consumes=(Consumer.ParcelShipped,)),
                         create_app=lambda ctx: cast(Any, None),
                         apply=lambda ctx: effect)
    ctx: ServiceContext[None] = ServiceContext(
        settings=Settings(data_dir=tmp_path), table=table, blobs=cast(Any, None),
        clock=FrozenClock(), verifier=cast(Any, None), relay=None, topology=Topology(),
        deps=None)
    consumer = service.consumer(ctx)
    assert consumer is not None
    doc = shipped().model_dump(mode="json")
    assert consumer(doc) is True
    assert consumer(doc) is False  # a repeat delivery changes nothing
    assert [type(e) for e in seen] == [Consumer.ParcelShipped]
    assert table.get("PARCEL", "p1") is not None
