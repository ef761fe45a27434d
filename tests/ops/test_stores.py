"""`atende ops` jobs open the platform's tables for their own length and let go of the
database's connections after (PostgreSQL's pool), failing or not."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

import pytest

from infra.ops import lag, reproject, reproject_roster
from shared.settings import Settings


class _Database:
    def __init__(self, real: Any) -> None:
        self.real, self.closed = real, 0

    def close(self) -> None:
        self.closed += 1


@pytest.fixture
def opened(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[_Database]:
    import infra.bootstrap

    real = infra.bootstrap._tables
    made: list[_Database] = []

    def spy(settings: Settings) -> tuple[dict[str, Any], _Database]:
        found, database = real(settings)
        made.append(_Database(database))
        return found, made[-1]

    monkeypatch.setattr(infra.bootstrap, "_tables", spy)
    return made


@pytest.mark.parametrize("job", [lag, reproject, reproject_roster])
def test_a_job_lets_go_of_the_database_it_opened(job: Any, opened: list[_Database],
                                                  tmp_path: Path) -> None:
    job(Settings(data_dir=tmp_path))
    assert [d.closed for d in opened] == [1]


def test_a_failing_job_lets_go_of_it_too(opened: list[_Database], tmp_path: Path,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    # The package's name `reproject` is the function; the module is found by its path.
    module = importlib.import_module("infra.ops.reproject")

    def broken(*args: Any) -> Any:
        raise RuntimeError("a read failed")

    monkeypatch.setattr(module, "_requests", broken)
    with pytest.raises(RuntimeError):
        reproject(Settings(data_dir=tmp_path))
    assert [d.closed for d in opened] == [1]
