"""Files handed to the browser by the console (a document, an attachment, a PDF)."""

from __future__ import annotations

import falcon

from shared.http import send_file


def send_bytes(resp: falcon.Response, data: bytes, content_type: str, filename: str) -> None:
    """As the JSON API sends them (attachment, a safe name); never cached: a person's."""
    send_file(resp, data, content_type, filename)
    resp.cache_control = ["no-store"]
