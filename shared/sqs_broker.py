"""dramatiq_sqs's broker, its SQS resource made on first use from the process's one boto3
session (shared.aws).

dramatiq_sqs makes its resource in its constructor from boto3's default session: a second
session that loads and parses the SQS model again, at every cold start, in functions whose
first event (an HTTP read, a stream record already relayed) sends nothing."""

from __future__ import annotations

from typing import Any

import dramatiq
from dramatiq_sqs import SQSBroker
from dramatiq_sqs.broker import MAX_MESSAGE_RETENTION_SECONDS, MAX_MESSAGE_SIZE_BYTES

from shared.settings import Settings


class LazySQSBroker(SQSBroker):
    def __init__(self, settings: Settings, *, namespace: str, dead_letter: bool,
                 visibility_timeout: int) -> None:
        # SQSBroker.__init__ would make the resource: its attributes are set here instead,
        # the same ones (tests/aws/test_adapters.py compares them with the parent's).
        self.queue_names: set[str] = set()
        dramatiq.Broker.__init__(self)
        self.namespace = namespace
        self.retention = MAX_MESSAGE_RETENTION_SECONDS
        self.max_message_size = MAX_MESSAGE_SIZE_BYTES
        self.queues: dict[str, Any] = {}
        self.dead_letter = dead_letter
        self.dead_letter_queues: dict[str, Any] = {}
        self.dead_letter_retention = MAX_MESSAGE_RETENTION_SECONDS
        self.visibility_timeout = visibility_timeout
        self.tags = None
        self._settings = settings
        self._sqs: Any = None

    @property
    def sqs(self) -> Any:
        if self._sqs is None:
            from shared.aws import resource

            self._sqs = resource(self._settings, "sqs")
        return self._sqs
