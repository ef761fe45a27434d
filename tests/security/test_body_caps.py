"""Issue 14, item 6: a body larger than the largest thing any route accepts is refused from
its Content-Length before it is read (413 problem+json naming the cap and its settings),
and a chunked one is cut off at that size; the server's limits come from the settings."""

from __future__ import annotations

import io
import json
import select
import socket
from collections.abc import Iterator
from typing import Any

import pytest

from infra.gateway import gateway_for
from infra.process import OperatorError
from infra.server import build_server
from shared.settings import Settings
from tests.security.serving import serving

MIB = 1 << 20


@pytest.fixture
def small_caps(make_harness: Any) -> Any:
    # Files of at most 1 MiB, two per post: the largest body is 2 MiB and 64 KiB.
    return make_harness(max_file_bytes=MIB, max_files_per_post=2)


@pytest.fixture
def server(small_caps: Any) -> Iterator[int]:
    with serving(small_caps.platform) as port:
        yield port


def _response(sock: socket.socket) -> tuple[str, dict[str, str], dict[str, Any]]:
    raw = b""
    while b"\r\n\r\n" not in raw or len(raw.split(b"\r\n\r\n", 1)[1]) < _length(raw):
        chunk = sock.recv(65536)
        if not chunk:
            break
        raw += chunk
    head, body = raw.split(b"\r\n\r\n", 1)
    lines = head.decode().split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines[1:])
    return lines[0], {k.lower(): v for k, v in headers.items()}, json.loads(body)


def _length(raw: bytes) -> int:
    for line in raw.split(b"\r\n\r\n", 1)[0].split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            return int(line.split(b":")[1])
    return 0


def _assert_names_the_cap(doc: dict[str, Any], cap: int) -> None:
    assert doc["status"] == 413 and doc["code"] == "payload_too_large"
    assert f"{cap / MIB:.4g} MiB" in doc["detail"]
    assert "ATENDE_MAX_FILE_BYTES" in doc["detail"]


def test_body_caps_a_declared_length_over_the_cap_is_refused_unread(server: int) -> None:
    port = server
    cap = Settings(max_file_bytes=MIB, max_files_per_post=2).max_body_bytes
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        # No token, an unknown route, and not one byte of the body sent.
        sock.sendall(b"POST /nowhere HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n"
                     % (cap + 1))
        status, headers, doc = _response(sock)
    assert status.startswith("HTTP/1.1 413")
    assert headers["content-type"] == "application/problem+json"
    _assert_names_the_cap(doc, cap)


def test_body_caps_a_body_at_the_cap_is_read(server: int) -> None:
    port = server
    cap = Settings(max_file_bytes=MIB, max_files_per_post=2).max_body_bytes
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(b"POST /nowhere HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n"
                     % cap + b"x" * cap)
        status, _, doc = _response(sock)
    assert status.startswith("HTTP/1.1 404") and doc["code"] == "not_found"


def test_body_caps_a_chunked_body_is_cut_off_at_the_cap(server: int) -> None:
    cap = Settings(max_file_bytes=MIB, max_files_per_post=2).max_body_bytes
    sent = 0
    with socket.create_connection(("127.0.0.1", server), timeout=5) as sock:
        sock.sendall(b"POST /requests HTTP/1.1\r\nHost: x\r\n"
                     b"Transfer-Encoding: chunked\r\n\r\n")
        while sent < 4 * cap:
            # Near the cap, small chunks each given time to be read: the server closes
            # after refusing, and bytes of ours it never read would reset the connection
            # before its answer could be read.
            near = cap - 4096
            size, wait = (min(65536, near - sent), 0.0) if sent < near else (2048, 0.2)
            sock.sendall(b"%x\r\n" % size + b"x" * size + b"\r\n")
            sent += size
            if select.select([sock], [], [], wait)[0]:
                break
        status, headers, doc = _response(sock)
    assert status.startswith("HTTP/1.1 413")
    assert headers["content-type"] == "application/problem+json"
    assert cap - 4096 < sent <= cap + 2048  # cut off as soon as the cap was reached
    _assert_names_the_cap(doc, cap)


def test_body_caps_the_gateway_refuses_without_reading(small_caps: Any) -> None:
    """Under any WSGI server: the gateway answers from the declared length."""

    class Unreadable(io.RawIOBase):
        def read(self, size: int = -1) -> bytes:
            raise AssertionError("the body was read")

    cap = small_caps.platform.settings.max_body_bytes
    answer: list[Any] = []
    environ = {"REQUEST_METHOD": "POST", "PATH_INFO": "/requests/r1/documents",
               "CONTENT_LENGTH": str(cap + 1), "wsgi.input": Unreadable()}
    body = b"".join(gateway_for(small_caps.platform)(
        environ, lambda status, headers: answer.append((status, dict(headers)))))
    assert answer[0][0].startswith("413")
    assert answer[0][1]["Content-Type"] == "application/problem+json"
    _assert_names_the_cap(json.loads(body), cap)


def test_body_caps_the_server_limits_come_from_the_settings(make_harness: Any) -> None:
    h = make_harness(http_connection_limit=7, http_channel_timeout=11, http_threads=3)
    srv = build_server(gateway_for(h.platform), h.platform.settings, "127.0.0.1", 0)
    try:
        assert (srv.adj.connection_limit, srv.adj.channel_timeout, srv.adj.threads) == (7, 11, 3)
        assert srv.adj.max_request_body_size == h.platform.settings.max_body_bytes + 1
    finally:
        srv.close()


def test_body_caps_too_few_threads_for_the_judges_is_refused_clearly(make_harness: Any) -> None:
    h = make_harness(http_threads=2, judge_concurrency=2)
    with pytest.raises(OperatorError, match=r"ATENDE_HTTP_THREADS \(2\) must exceed"):
        build_server(gateway_for(h.platform), h.platform.settings, "127.0.0.1", 0)


def test_body_caps_a_routes_own_cap_names_its_setting(harness: Any) -> None:
    r = harness.client.simulate_post(
        "/catalog/services", body=b"{" + b" " * (64 << 10) + b"}",
        headers={"Content-Type": "application/json",
                 **harness.auth(harness.token("reg", "registrar", org="pref"))})
    assert r.status_code == 413
    assert r.json["detail"] == (
        "the body is larger than the 0.062 MiB (64 KiB) cap (ATENDE_MAX_JSON_BYTES)")
