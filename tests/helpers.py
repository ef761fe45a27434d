"""Drive requests through the gateway, for any service's end-to-end tests.

    from tests.helpers import setup_service, submit, approve, conclude

    def test_something(harness):
        s = setup_service(harness)            # a service, a registrar, two attendants
        rid = submit(harness, s)              # citizen "ana" submits -> "submitted"
        approve(harness, s, rid)              # analysis by s.analyst, assigned to s.assignee
        conclude(harness, s, rid)             # -> "concluded"
        harness.drain()                       # let every consumer see the events

Every helper asserts the HTTP status it expects, so a failure points at the right step.
Tokens are in ``s.tokens`` by role name ("registrar", "analyst", "assignee", "citizen",
"other_citizen", "outsider"); ``s.h(name)`` gives the Authorization headers for one.
"""

from __future__ import annotations

import fcntl
import io
import itertools
import os
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import pytest
from pypdf import PdfWriter

ORG = "pref-sp"
UNIT = "saude"
VALID_CPF = "529.982.247-25"
_keys = itertools.count()

# PostgreSQL and RabbitMQ's queues are shared by every test of a run: the cluster test
# restarts PostgreSQL under every database on it, and the platform's queues are named by
# service (one vhost). Tests that use them run one after another on one xdist worker.
SHARED_SERVERS = pytest.mark.xdist_group("shared-servers")

# The brokers the tests talk to: 127.0.0.1's by default, another's by these variables.
REDIS_URL = os.environ.get("ATENDE_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
AMQP_URL = os.environ.get("ATENDE_TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/%2F")


def redis_db(n: int) -> str:
    """REDIS_URL's server, database ``n``: a test's own, which it may flush."""
    return urlsplit(REDIS_URL)._replace(path=f"/{n}").geturl()


BROKER_KINDS = ("rabbitmq", "redis")


def _emptied(kind: str) -> str:
    """The broker of ``kind`` with none of the platform's queues' messages; its URL."""
    if kind == "redis":
        import redis

        url = redis_db(13)  # the platform's queues on a real Redis: this db alone
        client = redis.Redis.from_url(url)
        client.flushdb()
        client.close()
        return url
    import pika
    from dramatiq.common import dq_name, xq_name

    from infra.services import queues

    conn = pika.BlockingConnection(pika.URLParameters(AMQP_URL))
    channel = conn.channel()
    for queue, _ in queues():
        for name in (queue, dq_name(queue), xq_name(queue)):
            channel.queue_delete(name)
    conn.close()
    return AMQP_URL


@contextmanager
def platform_broker(kind: str) -> Iterator[str]:
    """A real broker for a whole platform, emptied before and after, held alone: its queues
    are named by service, so two such tests side by side (or two runs of the suite on one
    machine) would take each other's messages."""
    with open("/tmp/atende-e2e-brokers.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        url = _emptied(kind)
        try:
            yield url
        finally:
            _emptied(kind)

FORM = [
    {"key": "nome", "label": "Nome completo", "type": "text", "required": True},
    {"key": "cpf", "label": "CPF", "type": "cpf", "required": True},
    {"key": "email", "label": "E-mail", "type": "email", "required": False},
]
STEPS = [
    {"key": "identidade", "label": "Identidade conferida"},
    {"key": "residencia", "label": "Comprovante de residência"},
]
DOCUMENTS = [{"key": "rg", "label": "RG", "required": False}]


def pdf_bytes() -> bytes:
    """A small, real, one-page PDF."""
    writer = PdfWriter()
    writer.add_blank_page(72, 72)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def png_bytes() -> bytes:
    """A valid 1x1 PNG."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return len(data).to_bytes(4, "big") + body + zlib.crc32(body).to_bytes(4, "big")

    ihdr = (1).to_bytes(4, "big") * 2 + bytes([8, 0, 0, 0, 0])
    idat = zlib.compress(b"\x00\x00")
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat)
            + chunk(b"IEND", b""))


def jpeg_bytes() -> bytes:
    """A valid 8x8 JPEG."""
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 30, 30)).save(out, "JPEG")
    return out.getvalue()


def multipart(fields: dict[str, str] | None = None,
              files: list[tuple[str, str, bytes]] | None = None) -> tuple[bytes, str]:
    """A multipart/form-data body and its Content-Type; files are (field, filename, bytes)."""
    boundary = "atende-test-boundary"
    out = io.BytesIO()
    for name, value in (fields or {}).items():
        out.write(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'
                  .encode())
        out.write(value.encode() + b"\r\n")
    for name, filename, data in files or []:
        out.write(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; '
                  f'filename="{filename}"\r\nContent-Type: application/octet-stream\r\n\r\n'
                  .encode())
        out.write(data + b"\r\n")
    out.write(f"--{boundary}--\r\n".encode())
    return out.getvalue(), f"multipart/form-data; boundary={boundary}"


@dataclass
class Setup:
    """One institution: a service of ``unit`` in ``org`` and the people around it."""

    org: str
    unit: str
    service_id: str
    tokens: dict[str, str] = field(default_factory=dict)
    subs: dict[str, str] = field(default_factory=dict)

    def h(self, who: str, **extra: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[who]}", **extra}


def setup_service(h: Any, *, org: str = ORG, unit: str = UNIT,
                  deadline_days: int | None = 10) -> Setup:
    """Register a service and enrol two enabled attendants of its unit.

    People: ``registrar``; ``analyst`` (Alice) and ``assignee`` (Bruno), attendants of the
    unit; ``citizen`` (sub "ana") and ``other_citizen`` (sub "beto"); ``outsider`` (Otto),
    an enabled attendant of another unit of the same org. Staff subs are unique per
    org and unit (see ``s.subs``), so several setups can live in one harness.
    """
    subs = {"registrar": f"reg-{org}", "analyst": f"alice-{org}-{unit}",
            "assignee": f"bruno-{org}-{unit}", "citizen": "ana", "other_citizen": "beto",
            "outsider": f"otto-{org}-{unit}"}
    tokens = {
        "registrar": h.token(subs["registrar"], "registrar", org=org, name="Regina Registro",
                             email="regina@example.gov.br"),
        "analyst": h.token(subs["analyst"], "attendant", org=org, unit=unit,
                           name="Alice Analista", email="alice@example.gov.br"),
        "assignee": h.token(subs["assignee"], "attendant", org=org, unit=unit,
                            name="Bruno Atendente", email="bruno@example.gov.br"),
        "citizen": h.token("ana", "citizen", name="Ana Cidadã", email="ana@example.com"),
        "other_citizen": h.token("beto", "citizen", name="Beto Cidadão",
                                 email="beto@example.com"),
        "outsider": h.token(subs["outsider"], "attendant", org=org, unit=f"{unit}-outra",
                            name="Otto Outro"),
    }
    body: dict[str, Any] = {"name": "Segunda via de documento", "description": "Teste",
                            "unit": unit, "form": FORM, "steps": STEPS, "documents": DOCUMENTS}
    if deadline_days is not None:
        body["deadline_days"] = deadline_days
    auth = {"Authorization": f"Bearer {tokens['registrar']}"}
    r = h.client.simulate_post("/catalog/services", json=body, headers=auth)
    assert r.status_code == 201, r.text
    service_id = r.json["id"]
    for who, name, where in (("analyst", "Alice Analista", unit),
                             ("assignee", "Bruno Atendente", unit),
                             ("outsider", "Otto Outro", f"{unit}-outra")):
        r = h.client.simulate_put(f"/attendants/{subs[who]}", headers=auth, json={
            "name": name, "email": f"{name.split()[0].lower()}@example.gov.br",
            "unit": where, "enabled": True})
        assert r.status_code == 200, r.text
    return Setup(org, unit, service_id, tokens, subs)


def submit(h: Any, s: Setup, *, who: str = "citizen", answers: dict[str, Any] | None = None,
           document: bytes | None = None) -> str:
    """Submit a request as ``who`` (optionally attaching ``document``); its id."""
    answers = answers if answers is not None else {"nome": "Ana Cidadã", "cpf": VALID_CPF}
    r = h.client.simulate_post("/requests", headers=s.h(who),
                               json={"service_id": s.service_id, "answers": answers})
    assert r.status_code == 201, r.text
    rid = r.json["id"]
    if document is not None:
        body, ctype = multipart({"key": "rg"}, [("file", "rg.pdf", document)])
        r = h.client.simulate_post(f"/requests/{rid}/documents", body=body,
                                   headers=s.h(who, **{"Content-Type": ctype}))
        assert r.status_code == 201, r.text
    return rid


def start_analysis(h: Any, s: Setup, rid: str) -> dict[str, Any]:
    """``submitted`` -> ``in_analysis`` by the analyst."""
    r = h.client.simulate_post(f"/requests/{rid}/analysis", headers=s.h("analyst"))
    assert r.status_code == 200, r.text
    return r.json


def check_steps(h: Any, s: Setup, rid: str, *, who: str = "analyst") -> dict[str, Any]:
    """Mark every step ok."""
    body: dict[str, Any] = {}
    for step in STEPS:
        r = h.client.simulate_put(f"/requests/{rid}/steps/{step['key']}", headers=s.h(who),
                                  json={"ok": True})
        assert r.status_code == 200, r.text
        body = r.json
    return body


def approve(h: Any, s: Setup, rid: str, *, assignee: str = "assignee") -> dict[str, Any]:
    """From ``submitted``: analysis, every step ok, approval to ``assignee`` -> ``in_service``."""
    start_analysis(h, s, rid)
    check_steps(h, s, rid)
    r = h.client.simulate_post(f"/requests/{rid}/approval", headers=s.h("analyst"),
                               json={"assignee": s.subs[assignee]})
    assert r.status_code == 200, r.text
    return r.json


def reject(h: Any, s: Setup, rid: str,
           justification: str = "Documentação incompleta para o pedido.") -> dict[str, Any]:
    """From ``submitted``: analysis then rejection -> ``rejected``."""
    start_analysis(h, s, rid)
    r = h.client.simulate_post(f"/requests/{rid}/rejection", headers=s.h("analyst"),
                               json={"justification": justification})
    assert r.status_code == 200, r.text
    return r.json


def conclude(h: Any, s: Setup, rid: str, *, summary: str = "Atendimento concluído.",
             pdf: bytes | None = None) -> dict[str, Any]:
    """From ``in_service``: conclusion by the assignee (with ``pdf`` attached if given)."""
    url = f"/requests/{rid}/conclusion"
    if pdf is None:
        r = h.client.simulate_post(url, headers=s.h("assignee"), json={"summary": summary})
    else:
        body, ctype = multipart({"summary": summary}, [("file", "conclusao.pdf", pdf)])
        r = h.client.simulate_post(url, body=body,
                                   headers=s.h("assignee", **{"Content-Type": ctype}))
    assert r.status_code == 200, r.text
    return r.json


def to_state(h: Any, s: Setup, state: str, *, who: str = "citizen") -> str:
    """A new request of ``who`` driven to ``state``; its id."""
    rid = submit(h, s, who=who)
    if state == "in_analysis":
        start_analysis(h, s, rid)
    elif state == "rejected":
        reject(h, s, rid)
    elif state in ("in_service", "concluded"):
        approve(h, s, rid)
        if state == "concluded":
            conclude(h, s, rid)
    elif state != "submitted":
        raise ValueError(state)
    return rid


def idem(headers: dict[str, str]) -> dict[str, str]:
    """``headers`` plus a fresh Idempotency-Key."""
    return {**headers, "Idempotency-Key": f"k-{next(_keys)}"}


def stored(h: Any, service: str = "requests") -> tuple[int, int]:
    """(table rows, blob files) a service holds, outbox and consumer bookkeeping aside:
    compare before and after a bad request to prove nothing was stored."""
    table = h.table(service)
    rows = table.db.connection().execute(
        f'SELECT count(*) FROM "{table.name}" WHERE pk NOT IN (\'OUTBOX\', \'APPLIED\')'
    ).fetchone()[0]
    root = h.platform.settings.data_dir / "blobs" / service
    blobs = sum(1 for p in root.rglob("*") if p.is_file()) if root.exists() else 0
    return rows, blobs
