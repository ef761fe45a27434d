"""The platform behind the real server `atende serve` runs, on a loopback port."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from typing import Any

from infra.gateway import gateway_for
from infra.server import build_server


@contextlib.contextmanager
def serving(platform: Any) -> Iterator[int]:
    """The port of a waitress server for ``platform``, closed on leaving."""
    server = build_server(gateway_for(platform), platform.settings, "127.0.0.1", 0)
    thread = threading.Thread(target=_run, args=(server,), daemon=True)
    thread.start()
    try:
        yield int(server.effective_port)
    finally:
        server.close()
        thread.join(5)


def _run(server: Any) -> None:
    # Closed from another thread, the server's select fails on the closed socket: the end.
    with contextlib.suppress(OSError, ValueError):
        server.run()
