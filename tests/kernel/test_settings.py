"""Settings come from keywords, else ATENDE_<NAME> in any case (a list's value JSON), else
the default, every value validated."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import ValidationError
from pydantic_settings import SettingsError

from shared.settings import Settings, problem_line


def test_keywords_then_the_environment_then_the_defaults(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ATENDE_WORKER_THREADS", "3")
    monkeypatch.setenv("atende_Table_Backend", "dynamodb")
    monkeypatch.setenv("ATENDE_JWT_ALGORITHMS", '["ES256"]')
    monkeypatch.setenv("ATENDE_METRICS", "false")
    monkeypatch.setenv("ATENDE_NOT_A_SETTING", "x")
    s = Settings(worker_threads=7)
    assert (s.worker_threads, s.table_backend, s.jwt_algorithms, s.metrics) == (
        7, "dynamodb", ["ES256"], False)
    assert Settings().worker_threads == 3
    assert Settings().http_threads == Settings.model_fields["http_threads"].default


def test_a_bad_value_is_refused_with_its_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ATENDE_BROKER_URL", "ftp://x")
    with pytest.raises(ValidationError) as refused:
        Settings()
    assert problem_line(refused.value).startswith("ATENDE_BROKER_URL=ftp://x: unsupported")
    monkeypatch.delenv("ATENDE_BROKER_URL")
    monkeypatch.setenv("ATENDE_BROKER_MIDDLEWARE", "a.b:C")  # a list: JSON
    with pytest.raises(SettingsError, match="broker_middleware"):
        Settings()


def test_a_list_default_sends_pydantic_to_no_tokenize() -> None:
    """A list field's default factory (shared.model's empty_list, not ``list``) sends
    pydantic to no tokenize, whose regular expressions would be compiled for it at a cold
    start."""
    code = ("import sys, tokenize; from shared.settings import Settings; Settings(); "
            "from services.requests.schemas import ServiceIn; ServiceIn.model_rebuild(); "
            "assert not tokenize._compile.cache_info().currsize, 'tokenize'")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=Path(__file__).parents[2], check=False)
    assert run.returncode == 0, run.stderr
