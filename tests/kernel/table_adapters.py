"""The table adapters the contract suite runs against. A new adapter adds one factory."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from shared.tables import Table
from shared.tables.sqlite import SQLiteDatabase
from tests.aws.dynamo_adapter import dynamodb_table


@contextmanager
def sqlite_table(tmp: Path) -> Iterator[Table]:
    yield SQLiteDatabase(tmp / "contract.db").table("contract")


ADAPTERS: dict[str, Callable[[Path], object]] = {"sqlite": sqlite_table,
                                                  "dynamodb": dynamodb_table}
