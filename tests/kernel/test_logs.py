"""Log lines as a long-running process writes them: JSON, one per line, with the request's
correlation id, and never a token or what a citizen wrote."""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from shared import logs
from tests.helpers import approve, setup_service, submit

log = logging.getLogger("atende.test")


class Lines:
    """``logs.configure(batched=True)`` as ``atende serve`` calls it, writing to a file."""

    def __init__(self, path: Path, out: Any, monkeypatch: pytest.MonkeyPatch) -> None:
        self.path, self.out, self.monkeypatch = path, out, monkeypatch

    def start(self) -> None:
        # pytest sets its own stderr and root handler for each test phase, after the
        # fixtures: replaced here, as a served process has only the batched writer.
        self.monkeypatch.setattr(sys, "stderr", self.out)
        logs.configure("INFO", batched=True)

    def read(self) -> list[dict[str, Any]]:
        assert logs._batched is not None
        logs._batched.flush()
        return [orjson.loads(line) for line in self.path.read_bytes().splitlines()]


@pytest.fixture
def lines(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Lines]:
    root = logging.getLogger()
    saved = root.handlers[:], root.level, logs._batched
    path = tmp_path / "stderr"
    with path.open("wb") as out:
        try:
            yield Lines(path, out, monkeypatch)
        finally:
            made = logs._batched
            root.handlers[:], level, logs._batched = saved
            root.setLevel(level)
            if made is not None and made is not saved[2]:
                made.close()  # before its file is


def test_the_direct_line_is_the_line_logging_writes(lines: Lines) -> None:
    lines.start()
    token = logs.correlation_id.set("cid-1")
    try:
        logs.info_line(log, "http", {"method": "GET", "status": "200 OK", "ms": 1.5})
        log.info("http", extra={"fields": {"method": "GET", "status": "200 OK", "ms": 1.5}})
    finally:
        logs.correlation_id.reset(token)
    direct, logged = lines.read()
    assert list(direct) == list(logged)  # the same keys, in the same order
    assert {**direct, "ts": None} == {**logged, "ts": None}
    assert direct == {**direct, "level": "info", "logger": "atende.test", "msg": "http",
                      "correlation_id": "cid-1"}


def test_another_handler_on_the_root_still_gets_the_line(lines: Lines) -> None:
    lines.start()
    seen: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            seen.append(record)

    extra = Keep()
    logging.getLogger().addHandler(extra)
    try:
        logs.info_line(log, "http", {"status": "200 OK"})
    finally:
        logging.getLogger().removeHandler(extra)
    assert [r.getMessage() for r in seen] == ["http"]
    assert [line["msg"] for line in lines.read()] == ["http"]


def test_a_level_above_info_writes_no_line(lines: Lines) -> None:
    lines.start()
    logging.getLogger().setLevel("WARNING")
    logs.info_line(log, "http", {"status": "200 OK"})
    assert lines.read() == []


def test_each_request_leaves_one_line_with_its_correlation_id_and_no_secrets(
        lines: Lines, harness: Any) -> None:
    s = setup_service(harness)
    rid = submit(harness, s)
    approve(harness, s, rid)
    harness.drain()  # the follow-ups service learns the request is in service
    lines.start()
    secret = "Meu endereço é Rua das Flores 12"
    resp = harness.client.simulate_post(
        f"/requests/{rid}/followups", json={"body": secret},
        headers={**s.h("citizen"), "X-Correlation-ID": "01test0correlation0id0001"})
    assert resp.status_code == 201, resp.text
    harness.drain()
    written = lines.read()
    raw = orjson.dumps(written).decode()
    assert secret not in raw
    assert not any(t in raw for t in s.tokens.values())
    access = [w for w in written if w["msg"] == "http" and w["method"] == "POST"
              and w["path"] == f"/requests/{rid}/followups"]
    assert len(access) == 1
    assert access[0]["correlation_id"] == resp.headers["X-Correlation-ID"]
    assert access[0]["correlation_id"] == "01test0correlation0id0001"
    assert access[0]["status"] == "201 Created"
