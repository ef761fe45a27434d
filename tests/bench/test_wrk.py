"""The wrk driver: its Lua script sends the request list as given, and its figures read
back in the Python generator's terms."""

from __future__ import annotations

import re

import pytest

from infra.bench import loadgen, wrk


def _long_strings(lua: str) -> list[str]:
    """The Lua long strings of a script, as Lua reads them."""
    return [m.group(2) for m in re.finditer(r"\[(=*)\[(.*?)\]\1\]", lua, re.S)]


def test_every_request_is_in_the_script_byte_for_byte() -> None:
    body = '{"body": "a ]] b ]=] c", "x": "\\u00e9 ção"}'
    reqs = [["POST", "/requests/r1/followups", {"Authorization": "Bearer t.k.n",
                                                "Content-Type": "application/json"}, body],
            ["GET", "/requests?status=in_service", {}, None]]
    lua = wrk.script(reqs)
    strings = _long_strings(lua)
    assert strings[:6] == ["POST", "/requests/r1/followups", "Authorization", "Bearer t.k.n",
                           "Content-Type", "application/json"]
    assert strings[6] == body  # closing brackets inside do not end it early
    assert strings[7:] == ["GET", "/requests?status=in_service"]
    assert lua.count("wrk.format(") == 2 and ", nil)" in lua  # no body: nil, not ""


def test_figures_count_answers_with_errors_apart() -> None:
    out = ("Running 5s test @ http://127.0.0.1:1\n  1 threads and 8 connections\n"
           'WRK-FIGURES {"requests":5000,"duration_us":5000000,"p50_us":1250,'
           '"p99_us":4100,"connect":0,"read":2,"write":0,"status":100,"timeout":0}\n')
    got = wrk.figures(out)
    assert got == {"count": 4900, "errors": 102, "error_kinds": ["read", "status"],
                   "rps": 980.0, "p50_ms": 1.25, "p99_ms": 4.1, "generator": "wrk"}


def test_no_figures_is_an_error_that_shows_the_output() -> None:
    try:
        wrk.figures("unable to connect to 127.0.0.1:1 Connection refused\n")
    except RuntimeError as exc:
        assert "Connection refused" in str(exc)
    else:
        raise AssertionError("figures() accepted output without figures")


def test_the_python_generator_can_be_asked_for(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ATENDE_BENCH_LOADGEN", "python")
    assert loadgen.generator() == "python"
    monkeypatch.delenv("ATENDE_BENCH_LOADGEN")
    assert loadgen.generator() == ("wrk" if wrk.available() else "python")
