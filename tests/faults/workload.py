"""Complete workflows driven over HTTP by clients that behave as a careful client should:
on a connection error (the HTTP process was killed) or a 5xx, send the same command again
with the same Idempotency-Key. Every command that got its 2xx is recorded: that is what
the platform acknowledged and must keep."""

from __future__ import annotations

import http.client
import random
import socket
import time
import urllib.error
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from tests.helpers import STEPS, VALID_CPF, Setup
from tests.live import LiveClient, LiveHarness, LiveResult

CONNECTION_ERRORS = (urllib.error.URLError, ConnectionError, http.client.HTTPException,
                     socket.timeout, TimeoutError)


class GaveUp(AssertionError):
    pass


@dataclass
class Stats:
    retries: Counter[str] = field(default_factory=Counter)
    calls: Counter[str] = field(default_factory=Counter)  # by HTTP process (base URL)


@dataclass
class Workflow:
    n: int
    citizen: str
    token: str
    approve: bool
    request_id: str | None = None
    followups: list[str] = field(default_factory=list)
    meeting_id: str | None = None
    review_verdict: str | None = None
    acked: int = 0
    done: bool = False


class Caller:
    """Sends one command until it gets a final answer, keeping its Idempotency-Key. With
    several HTTP processes, each call (a retry too) goes to one of them at random."""

    def __init__(self, base: str | list[str], stats: Stats, patience: float) -> None:
        self.clients = [LiveClient(b) for b in ([base] if isinstance(base, str) else base)]
        self.stats = stats
        self.patience = patience

    @property
    def client(self) -> LiveClient:
        chosen = random.choice(self.clients)
        self.stats.calls[chosen.base] += 1
        return chosen

    def send(self, method: str, path: str, token: str, *, json: Any = None,
             want: int = 200, not_yet: tuple[int, ...] = ()) -> LiveResult:
        """``not_yet``: statuses that mean another service has not heard the news yet (its
        projection lags the event); the command is sent again a little later."""
        key = f"fault-{uuid.uuid4()}"
        headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": key}
        deadline = time.monotonic() + self.patience
        while True:
            try:
                r = self.client.simulate_request(method, path, json=json, headers=headers)
            except CONNECTION_ERRORS:
                self.stats.retries["connection"] += 1
            else:
                if r.status_code == want:
                    return r
                if r.status_code >= 500:
                    self.stats.retries[f"http {r.status_code}"] += 1
                elif r.status_code in not_yet:
                    self.stats.retries["not yet"] += 1
                else:
                    raise GaveUp(f"{method} {path}: {r.status_code} {r.text[:300]}")
            if time.monotonic() > deadline:
                raise GaveUp(f"{method} {path}: no answer within {self.patience}s")
            time.sleep(0.2)

    def get(self, path: str, token: str, **params: Any) -> Any:
        deadline = time.monotonic() + self.patience
        while True:
            try:
                r = self.client.simulate_get(path, headers={"Authorization": f"Bearer {token}"},
                                             params=params or None)
                if r.status_code == 200:
                    return r.json
                if r.status_code < 500:
                    raise GaveUp(f"GET {path}: {r.status_code} {r.text[:300]}")
            except CONNECTION_ERRORS:
                pass
            if time.monotonic() > deadline:
                raise GaveUp(f"GET {path}: no answer within {self.patience}s")
            time.sleep(0.2)


def new_workflow(h: LiveHarness, tag: str, n: int) -> Workflow:
    sub = f"cit-{tag}-{n}"
    token = h.token(sub, "citizen", name=f"Cidadã {n}", email=f"{sub}@example.com")
    return Workflow(n, sub, token, approve=n % 5 != 4)


def run_workflow(c: Caller, s: Setup, w: Workflow) -> None:
    """Submit, analyse, check every step; reject one in five; else approve, one follow-up
    each way, a meeting, conclude, and the citizen's verdict with a review."""
    analyst, assignee = s.tokens["analyst"], s.tokens["assignee"]
    r = c.send("POST", "/requests", w.token, want=201, json={
        "service_id": s.service_id, "answers": {"nome": f"Cidadã {w.n}", "cpf": VALID_CPF}})
    w.request_id = rid = r.json["id"]
    c.send("POST", f"/requests/{rid}/analysis", analyst)
    for step in STEPS:
        c.send("PUT", f"/requests/{rid}/steps/{step['key']}", analyst, json={"ok": True})
    w.acked = 4
    if not w.approve:
        c.send("POST", f"/requests/{rid}/rejection", analyst,
               json={"justification": "Documentação incompleta para o pedido."})
        w.acked += 1
        w.done = True
        return
    c.send("POST", f"/requests/{rid}/approval", analyst, json={"assignee": s.subs["assignee"]})
    # These wait for the followups, meetings and reviews services to learn the news (the
    # assignee's roster entry too: 403 attendant_not_enabled until it has arrived).
    for token in (w.token, assignee):
        r = c.send("POST", f"/requests/{rid}/followups", token, want=201,
                   json={"body": f"Mensagem do fluxo {w.n}."}, not_yet=(403, 404, 409))
        w.followups.append(r.json["id"])
    starts = (datetime.now(UTC) + timedelta(days=2)).replace(microsecond=0)
    r = c.send("POST", f"/requests/{rid}/meetings", assignee, want=201,
               not_yet=(403, 404, 409),
               json={"starts_at": starts.isoformat(), "subject": f"Conversa {w.n}"})
    w.meeting_id = r.json["id"]
    c.send("POST", f"/requests/{rid}/conclusion", assignee,
           json={"summary": "Atendimento concluído."})
    verdict = "approved" if w.n % 3 else "rejected"
    c.send("POST", f"/requests/{rid}/review", w.token, want=201, not_yet=(404, 409),
           json={"verdict": verdict, "rating": 1 + w.n % 5})
    w.review_verdict = verdict
    w.acked += 6
    w.done = True
