"""The DynamoDB adapter for the table contract suite: a fresh moto table per test, made from
the template's definition of a service table."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from shared.aws import client
from shared.settings import Settings
from shared.tables import Table
from shared.tables.dynamodb import DynamoTable
from tests.aws.moto_env import REGION, create_table, mocked


@contextmanager
def dynamodb_table(tmp: Path) -> Iterator[Table]:
    with mocked():
        dynamodb = client(Settings(aws_region=REGION), "dynamodb")
        create_table(dynamodb, "requests", "contract")
        yield DynamoTable(dynamodb, "contract")
