"""What the staff do in the citizen's tests, through the JSON API (the attendant's screens
are another's), and multipart posts from the test browser."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from falcon import testing

from infra.bootstrap import Platform
from infra.demo import PEOPLE
from infra.gateway import gateway_for
from shared.identity import dev_secret, mint
from tests.console.conftest import Browser
from tests.helpers import pdf_bytes

PDF = pdf_bytes()
GOOD_CPF, BAD_CPF = "529.982.247-25", "529.982.247-24"


def token(platform: Platform, who: str | dict[str, Any]) -> str:
    s = platform.settings
    claims = PEOPLE[who] if isinstance(who, str) else who
    return mint(dev_secret(s), issuer=s.jwt_issuer, audience=s.jwt_audience, **claims)


class Api:
    def __init__(self, platform: Platform) -> None:
        self.platform = platform
        self.client = testing.TestClient(gateway_for(platform))

    def call(self, method: str, path: str, who: str, **kw: Any) -> Any:
        headers = {"Authorization": f"Bearer {token(self.platform, who)}",
                   **kw.pop("headers", {})}
        r = self.client.simulate_request(method, path, headers=headers, **kw)
        assert r.status_code < 300, (path, r.status_code, r.text)
        return r.json

    def service_id(self, name: str = "Certidão de regularidade") -> str:
        items = self.client.simulate_get("/catalog/services").json["items"]
        return str(next(s["id"] for s in items if s["name"] == name))

    def submit(self, service_id: str, who: str = "citizen") -> str:
        body = {"service_id": service_id, "answers": {
            "nome": "Carla", "cpf": GOOD_CPF, "finalidade": "estudo"}}
        return str(self.call("POST", "/requests", who, json=body)["id"])

    def into_service(self, request_id: str) -> None:
        """Analysed and approved by the attendant, assigned to them."""
        self.call("POST", f"/requests/{request_id}/analysis", "attendant")
        service = self.call("GET", f"/requests/{request_id}", "attendant")
        service_def = self.client.simulate_get(
            f"/catalog/services/{service['service_id']}").json
        for step in service_def["steps"]:
            self.call("PUT", f"/requests/{request_id}/steps/{step['key']}", "attendant",
                      json={"ok": True})
        self.call("POST", f"/requests/{request_id}/approval", "attendant",
                  json={"assignee": PEOPLE["attendant"]["sub"]})

    def followup(self, request_id: str, body: str) -> None:
        self.call("POST", f"/requests/{request_id}/followups", "attendant",
                  json={"body": body})

    def meeting(self, request_id: str, in_minutes: int = 10) -> str:
        starts = self.platform.clock.now() + timedelta(minutes=in_minutes)
        return str(self.call("POST", f"/requests/{request_id}/meetings", "attendant", json={
            "starts_at": starts.isoformat(), "duration_minutes": 30,
            "subject": "Conversa sobre o pedido"})["id"])

    def invite(self, request_id: str, meeting_id: str) -> str:
        made = self.call("POST", f"/requests/{request_id}/meetings/{meeting_id}/guests",
                         "attendant", json={"name": "Gil Convidado",
                                            "email": "gil@example.com"})
        return str(made["invite_token"])

    def conclude(self, request_id: str) -> None:
        boundary = uuid.uuid4().hex
        body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"summary\"\r\n\r\n"
                "Certidão emitida.\r\n"
                f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; "
                "filename=\"certidao.pdf\"\r\nContent-Type: application/pdf\r\n\r\n"
                ).encode() + PDF + f"\r\n--{boundary}--\r\n".encode()
        self.call("POST", f"/requests/{request_id}/conclusion", "attendant", body=body,
                  headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})


def post_files(browser: Browser, path: str, fields: dict[str, str],
               files: list[tuple[str, str, bytes]]) -> testing.Result:
    """A multipart post, as a browser sends a form with a file input."""
    boundary = uuid.uuid4().hex
    parts = [f"--{boundary}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n"
             .encode() for k, v in fields.items()]
    for name, filename, data in files:
        parts.append(f"--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"; "
                     f"filename=\"{filename}\"\r\nContent-Type: application/octet-stream"
                     "\r\n\r\n".encode() + data + b"\r\n")
    body = b"".join(parts) + f"--{boundary}--\r\n".encode()
    headers = browser._headers({"Content-Type": f"multipart/form-data; boundary={boundary}",
                                "Origin": browser.origin})
    return browser._keep(browser.client.simulate_post(path, body=body, headers=headers,
                                                      protocol=browser.scheme))


def settle(platform: Platform, check: Any, timeout: float = 5.0) -> None:
    """Wait until the workers' projections make ``check()`` true."""
    import time

    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "the projections did not catch up"
        time.sleep(0.05)


def now(platform: Platform) -> datetime:
    return platform.clock.now()
