"""Settings from the environment as pydantic-settings read them, without importing it (each
process reads its settings first thing: a Lambda function at every cold start)."""

from __future__ import annotations

import subprocess
import sys

import pytest
from pydantic import ValidationError

from shared.settings import Settings, problem_line


def test_reading_the_settings_imports_no_pydantic_settings() -> None:
    code = ("import sys; from shared.settings import Settings; Settings(); "
            "assert 'pydantic_settings' not in sys.modules")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr[-2000:]


def test_the_environment_any_case_lists_as_json_given_values_first(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ATENDE_ENVIRONMENT", "prod")
    monkeypatch.setenv("atende_table_prefix", "gov")
    monkeypatch.setenv("ATENDE_JWT_ALGORITHMS", '["ES256"]')
    monkeypatch.setenv("ATENDE_METRICS", "false")
    monkeypatch.setenv("ATENDE_HTTP_THREADS", "7")
    monkeypatch.setenv("ATENDE_NO_SUCH_SETTING", "ignored")
    s = Settings(http_threads=9)
    assert (s.environment, s.table_prefix, s.jwt_algorithms, s.metrics, s.http_threads) == (
        "prod", "gov", ["ES256"], False, 9)
    assert Settings().http_threads == 7
    monkeypatch.delenv("ATENDE_HTTP_THREADS")
    assert Settings().http_threads == Settings.model_fields["http_threads"].default


def test_a_list_that_is_not_json_is_one_line_naming_its_variable(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ATENDE_BROKER_MIDDLEWARE", "tests.faults.chaos:Chaos")
    with pytest.raises(ValidationError) as caught:
        Settings()
    line = problem_line(caught.value)
    assert line.startswith("ATENDE_BROKER_MIDDLEWARE=tests.faults.chaos:Chaos: ")
    assert "valid list" in line and "for example" not in line
