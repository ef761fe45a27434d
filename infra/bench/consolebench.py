"""The console's pages: a signed-in attendant's session for the HTTP suite's load, and
the panel page's first load in Chromium (Playwright) on a warm server: the bytes that
crossed the wire and the time until the panel's table is visible."""

from __future__ import annotations

import http.client
import time
from pathlib import Path
from typing import Any

from infra.bench.seed import ATTENDANT
from shared.clock import SystemClock
from shared.tables.sqlite import SQLiteDatabase

Row = dict[str, Any]
PANEL = "/console/solicitacoes"
COOKIE = "atende"  # the plain name: the bench serves HTTP, not HTTPS
CHROMIUM = Path("/usr/bin/chromium")


def session_cookie(data_dir: Path) -> str:
    """A live session of the bench's attendant, written straight into the console's
    sessions table (as a login would leave it)."""
    from console.sessions import SessionStore

    db = SQLiteDatabase(data_dir / "atende.db")
    store = SessionStore(db.table("console"), SystemClock(), idle_seconds=6 * 3600,
                         absolute_seconds=6 * 3600)
    session = store.new(ATTENDANT)
    return f"{COOKIE}={session.id}"


def warm(port: int, cookie: str, paths: tuple[str, ...] = (PANEL,)) -> None:
    """One of each page before any load: the console builds itself (templates, assets) on
    its first request, and compiles a page's templates on its first showing, which a
    short measure would otherwise be all about. It also checks that the session is taken,
    rather than measuring a login page."""
    for path in paths:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        try:
            conn.request("GET", path, headers={"Cookie": cookie})
            resp = conn.getresponse()
            resp.read()
        finally:
            conn.close()
        if resp.status != 200:
            raise RuntimeError(f"the console's {path} answered {resp.status} to the bench's "
                               "session")


def first_load(port: int, cookie: str) -> Row:
    """A fresh browser profile (nothing cached) loads the panel; one load before it, not
    measured, warms the server. Bytes are the encoded (compressed, where the server
    compresses) bodies and headers of every response the page needed."""
    from playwright.sync_api import sync_playwright

    name, _, value = cookie.partition("=")
    url = f"http://127.0.0.1:{port}{PANEL}"
    figures: dict[str, float] = {}
    responses: list[Any] = []

    def finished(request: Any) -> None:
        responses.append(request)

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True)
        try:
            for measured in (False, True):
                context = browser.new_context()
                context.add_cookies([{"name": name, "value": value, "url": url}])
                page = context.new_page()
                responses.clear()
                page.on("requestfinished", finished)
                began = time.perf_counter()
                page.goto(url, wait_until="commit")
                page.locator("table").first.wait_for(state="visible", timeout=30_000)
                took = time.perf_counter() - began
                page.wait_for_load_state("load")
                if measured:
                    total = 0
                    for request in responses:
                        sizes = request.sizes()
                        total += sizes["responseBodySize"] + sizes["responseHeadersSize"]
                    figures = {"bytes": total, "ms": took * 1000,
                               "requests": len(responses)}
                context.close()
        finally:
            browser.close()
    return {"suite": "http", "name": "console first load", "p50_ms": figures["ms"],
            **figures}
