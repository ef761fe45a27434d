"""Helpers for the attendant's screens' tests: requests made through the JSON API, as a
citizen's client would, and the pages' forms posted as a browser posts them."""

from __future__ import annotations

import re
from typing import Any

from falcon import testing

from infra.bootstrap import Platform
from infra.demo import PEOPLE
from infra.gateway import gateway_for
from shared.identity import dev_secret, mint
from tests.helpers import pdf_bytes, png_bytes

PDF = pdf_bytes()
PNG = png_bytes()


def token(platform: Platform, who: str, **claims: Any) -> str:
    s = platform.settings
    return mint(dev_secret(s), issuer=s.jwt_issuer, audience=s.jwt_audience,
                **{**PEOPLE[who], **claims})


def api(platform: Platform) -> testing.TestClient:
    return testing.TestClient(gateway_for(platform))


def submit(platform: Platform, who: str = "citizen") -> str:
    client = api(platform)
    service = client.simulate_get("/catalog/services").json["items"][0]
    r = client.simulate_post("/requests", headers={
        "Authorization": f"Bearer {token(platform, who)}"}, json={
        "service_id": service["id"], "answers": {
            "nome": "Carla", "cpf": "529.982.247-25", "finalidade": "estudo"}})
    assert r.status_code == 201, r.text
    return str(r.json["id"])


def review(platform: Platform, request_id: str, verdict: str, comment: str) -> None:
    r = api(platform).simulate_post(
        f"/requests/{request_id}/review",
        headers={"Authorization": f"Bearer {token(platform, 'citizen')}"},
        json={"verdict": verdict, "rating": 4, "comment": comment})
    assert r.status_code == 201, r.text


def multipart(fields: dict[str, str], files: list[tuple[str, str, bytes]]
              ) -> tuple[bytes, str]:
    boundary = "atendeBoundary7MA4YWxk"
    parts = []
    for name, value in fields.items():
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"'
                     f"\r\n\r\n{value}\r\n".encode())
    for name, filename, data in files:
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; '
                     f'filename="{filename}"\r\nContent-Type: application/octet-stream'
                     f"\r\n\r\n".encode() + data + b"\r\n")
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


def error_by(html: str, field: str) -> str:
    """The error shown under a field's label."""
    match = re.search(rf'id="erro-{re.escape(field)}">([^<]*)<', html)
    assert match, f"no error by {field!r}"
    return match.group(1)


def value_of(html: str, field: str) -> str:
    match = re.search(rf'id="campo-{re.escape(field)}"[^>]*value="([^"]*)"', html) or \
        re.search(rf'<textarea id="campo-{re.escape(field)}"[^>]*>([^<]*)</textarea>', html)
    assert match, f"no field {field!r}"
    return match.group(1)
