"""The domain tests' delivery reads an event as the consumer's worker does: with the
consuming service's own models first, so a service's own event can be tested here too."""

from __future__ import annotations

from typing import Any

import pytest

from shared.contract import Contract
from shared.messages import Event, FollowupPosted
from shared.outbox import UnitOfWork
from tests.domain.support import CITIZEN, Store, delivered, party


class ParcelShipped(Event):
    """A service's own event: not the kernel's, so only its contract knows it."""

    parcel_id: str
    carrier: str


class FollowupSeen(Event):
    """A consumer's reader model of a kernel event: the fields it reads, nothing more."""

    followup_id: str


CONSUMER = Contract(name="parcels", operations=(), consumes=(ParcelShipped,))


def test_a_services_own_event_is_read_with_its_contracts_model() -> None:
    shipped = ParcelShipped(request_id="r1", parcel_id="p1", carrier="Correios")
    with pytest.raises(KeyError):
        delivered(shipped)  # the kernel alone does not know it
    got = delivered(shipped, CONSUMER.schemas)
    assert type(got) is ParcelShipped and got == shipped


def test_a_reader_model_wins_over_the_kernels_schema() -> None:
    posted = FollowupPosted(request_id="r1", followup_id="f1", author_role="citizen",
                            author=party(CITIZEN))
    assert type(delivered(posted)) is FollowupPosted
    got = delivered(posted, {"FollowupPosted": FollowupSeen})
    assert isinstance(got, FollowupSeen) and got.followup_id == "f1"


def test_store_feeds_an_effect_with_the_consumers_models(store: Store) -> None:
    seen: list[Any] = []

    def effect(uow: UnitOfWork, event: Event) -> None:
        seen.append(event)

    shipped = ParcelShipped(request_id="r1", parcel_id="p2", carrier="Loggi")
    store.feed(effect, shipped, schemas=CONSUMER.schemas)
    assert seen == [shipped] and type(seen[0]) is ParcelShipped
