"""Moto for the AWS tests: fake credentials, and tables and queues made from the template's
own definitions (infra/template.yaml), never from a second copy."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from infra.aws import template

REGION = "us-east-1"


# Moto needs some credentials; these keep boto3 from ever looking for real ones.
FAKE_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                    "AWS_SESSION_TOKEN": "testing", "AWS_DEFAULT_REGION": REGION}


def fake_credentials() -> None:
    os.environ.update(FAKE_CREDENTIALS)


@contextmanager
def mocked() -> Iterator[None]:
    from moto import mock_aws

    import shared.aws

    fake_credentials()
    # The process's one boto3 session keeps the credentials it found first: a test that
    # ran earlier on this worker with others (tests/postgres's S3 server) must not sign
    # these requests.
    shared.aws._session = None
    with mock_aws():
        yield


def create_table(client: Any, service: str, name: str) -> None:
    client.create_table(**template.table_spec(service, name))
    client.update_time_to_live(TableName=name,
                               TimeToLiveSpecification=template.time_to_live(service))
