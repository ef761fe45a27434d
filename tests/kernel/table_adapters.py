"""The table adapters the contract suite runs against. A new adapter adds one factory."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from shared.tables import Table
from shared.tables.postgres import PostgresDatabase
from shared.tables.sqlite import SQLiteDatabase
from tests.aws.dynamo_adapter import dynamodb_table
from tests.postgres.scratch import scratch_database


@contextmanager
def sqlite_table(tmp: Path) -> Iterator[Table]:
    # Attributes of the suite's JSON pages kept apart, others read from the body: both ways.
    yield SQLiteDatabase(tmp / "contract.db").table("contract",
                                                     json_attributes=("view", "label", "text"))


@contextmanager
def postgres_table(tmp: Path) -> Iterator[Table]:
    with scratch_database() as url:
        db = PostgresDatabase(url, max_size=10)
        try:
            db.migrate(["contract"])
            yield db.table("contract")
        finally:
            db.close()


ADAPTERS: dict[str, Callable[[Path], object]] = {"sqlite": sqlite_table,
                                                  "dynamodb": dynamodb_table,
                                                  "postgres": postgres_table}
