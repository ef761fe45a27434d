"""Delivery acknowledgements for the in-process broker (``memory://``), apart from the
relay (shared/outbox.py): only a process on that broker loads Dramatiq's middleware for
them."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import dramatiq
from dramatiq.broker import MessageProxy
from dramatiq.middleware import Middleware

if TYPE_CHECKING:
    from shared.outbox import Relay


class DeliveryAcks(Middleware):
    """For the in-process broker: an outbox entry is done only when its consumer applied
    the event (or it was dead-lettered), not when the broker took it."""

    def __init__(self, relay: Relay) -> None:
        self.relay = relay

    def after_process_message(self, broker: dramatiq.Broker, message: MessageProxy,
                              *, result: Any = None, exception: BaseException | None = None
                              ) -> None:
        ref = message.options.get("outbox")
        # A failed message (e.g. by the crash guard) is not done: its nack marks it dead.
        if ref and exception is None and not message.failed:
            self.relay.acknowledge(ref[0], ref[1], service=_service_of(ref))

    def after_skip_message(self, broker: dramatiq.Broker, message: MessageProxy) -> None:
        self.after_process_message(broker, message)

    def after_nack(self, broker: dramatiq.Broker, message: MessageProxy) -> None:
        ref = message.options.get("outbox")
        if ref:
            self.relay.acknowledge(ref[0], ref[1], service=_service_of(ref), dead=True)


def _service_of(ref: list[str]) -> str | None:
    """The consumer an outbox reference names (None: sent before references named it)."""
    return ref[2] if len(ref) > 2 else None
