"""Moto for the AWS tests: fake credentials, and tables and queues made from the template's
own definitions (infra/template.yaml), never from a second copy."""

from __future__ import annotations

import functools
import os
import threading
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from typing import Any
from unittest import mock

from infra.aws import template

REGION = "us-east-1"


# Moto needs some credentials; these keep boto3 from ever looking for real ones.
FAKE_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                    "AWS_SESSION_TOKEN": "testing", "AWS_DEFAULT_REGION": REGION}


def fake_credentials() -> None:
    os.environ.update(FAKE_CREDENTIALS)


# DynamoDB applies each write, condition and all, atomically; moto checks a condition and
# then writes as two steps with no lock between them, so two threads can both win a
# conditional write. The tests are about the adapter, not the emulator: its writes are
# made one at a time here, as the real service makes them.
_WRITES = ("put_item", "update_item", "delete_item", "transact_write_items")


def _one_at_a_time(method: Callable[..., Any], lock: threading.RLock) -> Callable[..., Any]:
    @functools.wraps(method)
    def locked(*args: Any, **kwargs: Any) -> Any:
        with lock:
            return method(*args, **kwargs)
    return locked


@contextmanager
def mocked() -> Iterator[None]:
    from moto import mock_aws
    from moto.dynamodb.models import DynamoDBBackend

    import shared.aws

    fake_credentials()
    # The process's one AWS session keeps the credentials it found first: a test that
    # ran earlier on this worker with others (tests/postgres's S3 server) must not sign
    # these requests.
    shared.aws._session = shared.aws._boto3 = None
    lock = threading.RLock()
    with ExitStack() as stack:
        for name in _WRITES:
            stack.enter_context(mock.patch.object(
                DynamoDBBackend, name, _one_at_a_time(getattr(DynamoDBBackend, name), lock)))
        stack.enter_context(mock_aws())
        yield


def create_table(client: Any, service: str, name: str) -> None:
    client.create_table(**template.table_spec(service, name))
    client.update_time_to_live(TableName=name,
                               TimeToLiveSpecification=template.time_to_live(service))
