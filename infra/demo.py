"""`atende dev --demo`: a demo institution, loaded through the public API, and tokens to try
it at once; on a fresh data directory, a day's work too (requests in every state, some
overdue, follow-ups, a meeting soon, reviews waiting for moderation) so that the panel and
the queues are not empty. Safe to run on every start: the creates carry fixed
Idempotency-Keys, and the day's work is made only while the panel is empty."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

from falcon import testing

from infra.gateway import gateway_for
from shared.identity import dev_secret, mint

ORG, UNIT = "prefeitura-demo", "atendimento"
PEOPLE: dict[str, dict[str, Any]] = {
    "registrar": dict(sub="reg-1", roles=["registrar"], name="Regina Registradora",
                      org=ORG, email="regina@demo.gov.br"),
    "attendant": dict(sub="att-1", roles=["attendant"], name="Ana Atendente", org=ORG,
                      unit=UNIT, email="ana@demo.gov.br"),
    "attendant2": dict(sub="att-2", roles=["attendant"], name="Bruno Atendente", org=ORG,
                       unit=UNIT, email="bruno@demo.gov.br"),
    "citizen": dict(sub="cid-1", roles=["citizen"], name="Carla Cidadã",
                    email="carla@example.com"),
    "citizen2": dict(sub="cid-2", roles=["citizen"], name="Davi Cidadão",
                     email="davi@example.com"),
}
SERVICE = {
    "name": "Certidão de regularidade",
    "description": "Emissão de certidão de regularidade cadastral.",
    "unit": UNIT,
    "form": [
        {"key": "nome", "label": "Nome completo", "type": "text", "required": True},
        {"key": "cpf", "label": "CPF", "type": "cpf", "required": True},
        {"key": "finalidade", "label": "Finalidade", "type": "choice", "required": True,
         "options": ["trabalho", "estudo", "outro"]},
    ],
    "steps": [{"key": "identidade", "label": "Identidade conferida"},
              {"key": "cadastro", "label": "Cadastro regular"}],
    "documents": [{"key": "rg", "label": "Documento de identidade", "required": False}],
    "deadline_days": 10,
}


def tokens(settings: Any, ttl: int = 7 * 24 * 3600) -> dict[str, str]:
    secret = dev_secret(settings)
    return {who: mint(secret, issuer=settings.jwt_issuer, audience=settings.jwt_audience,
                      ttl=ttl, **claims) for who, claims in PEOPLE.items()}


def load_demo(platform: Any, *, work: bool = True) -> dict[str, Any]:
    """The demo institution, its people and service; with ``work``, a day's work too."""
    tok = tokens(platform.settings)
    client = testing.TestClient(gateway_for(platform))
    reg = {"Authorization": f"Bearer {tok['registrar']}"}
    for who in ("attendant", "attendant2"):
        p = PEOPLE[who]
        r = client.simulate_put(f"/attendants/{p['sub']}", headers=reg, json={
            "name": p["name"], "email": p["email"], "unit": UNIT, "enabled": True})
        if r.status_code != 200:
            raise RuntimeError(f"demo: enrolling {who} failed: {r.status_code} {r.text}")
    r = client.simulate_post("/catalog/services", json=SERVICE,
                             headers={**reg, "Idempotency-Key": "demo-service-v1"})
    if r.status_code != 201:
        raise RuntimeError(f"demo: creating the service failed: {r.status_code} {r.text}")
    service_id = r.json["id"]
    made = _days_work(platform, client, tok, service_id) if work else 0
    print(f"Demo institution {ORG!r}, unit {UNIT!r}, service {service_id}"
          + (f", {made} requests in every state" if made else ""), flush=True)
    for who, t in tok.items():
        print(f"  {who:<11} {t}", flush=True)
    return {"service_id": service_id, "tokens": tok}


def how_to_get_a_token(settings: Any) -> str:
    data_dir = f" --data-dir {settings.data_dir}" if str(settings.data_dir) != "var" else ""
    return ("No demo data (`atende dev --demo` loads some). A token for a caller: "
            f"atende token{data_dir} --sub att-1 --role attendant --name Ana --org pref "
            "--unit atend   (roles: citizen, attendant, registrar; see README)")


class _Past:
    """The platform's clock, ``by`` earlier: requests made "days ago" (overdue ones)."""

    def __init__(self, clock: Any, by: timedelta) -> None:
        self.clock, self.by = clock, by

    def now(self) -> datetime:
        return self.clock.now() - self.by


class _Day:
    def __init__(self, platform: Any, client: Any, tok: dict[str, str], service_id: str
                 ) -> None:
        self.platform, self.client, self.service_id = platform, client, service_id
        self.auth = {who: {"Authorization": f"Bearer {t}"} for who, t in tok.items()}
        self.made = 0

    def call(self, method: str, path: str, who: str, body: dict[str, Any] | None = None,
             ok: int = 200) -> dict[str, Any]:
        # A client of its own writes: a refusal because a service has not yet seen the
        # step before (its view or roster copy behind, on a loaded machine beyond the
        # services' own bounded wait) is tried again, for a while, before giving up.
        deadline = time.monotonic() + 20
        while True:
            r = self.client.simulate_request(method, path, headers=self.auth[who], json=body)
            if r.status_code == ok:
                return r.json
            if r.status_code not in (403, 409) or time.monotonic() > deadline:
                raise RuntimeError(f"demo: {method} {path} failed: {r.status_code} {r.text}")
            time.sleep(0.1)

    def submit(self, who: str, name: str, cpf: str, days_ago: int = 0) -> str:
        ctx = self.platform.contexts["requests"]
        clock = ctx.clock
        if days_ago:
            ctx.clock = _Past(clock, timedelta(days=days_ago, hours=2))
        self.made += 1
        try:
            return self.call("POST", "/requests", who, {"service_id": self.service_id,
                             "answers": {"nome": name, "cpf": cpf, "finalidade": "trabalho"}},
                             201)["id"]
        finally:
            ctx.clock = clock

    def analyse(self, rid: str, steps: tuple[str, ...] = ("identidade", "cadastro")) -> None:
        self.call("POST", f"/requests/{rid}/analysis", "attendant")
        for key in steps:
            self.call("PUT", f"/requests/{rid}/steps/{key}", "attendant", {"ok": True})

    def approve(self, rid: str, to: str = "att-2") -> None:
        self.analyse(rid)
        self.call("POST", f"/requests/{rid}/approval", "attendant", {"assignee": to})

    def followup(self, rid: str, who: str, text: str) -> None:
        self.call("POST", f"/requests/{rid}/followups", who, {"body": text}, 201)

    def conclude(self, rid: str, who: str = "attendant2") -> None:
        self.call("POST", f"/requests/{rid}/conclusion", who,
                  {"summary": "Certidão emitida e enviada por e-mail."})

    def review(self, rid: str, who: str, verdict: str, rating: int, comment: str) -> str:
        return self.call("POST", f"/requests/{rid}/review", who, {
            "verdict": verdict, "rating": rating, "comment": comment}, 201)["id"]


def _days_work(platform: Any, client: Any, tok: dict[str, str], service_id: str) -> int:
    day = _Day(platform, client, tok, service_id)
    if day.call("GET", "/requests", "registrar")["items"]:
        return 0  # a data directory that already has work: leave it as it is
    carla, davi = ("citizen", "Carla Cidadã", "529.982.247-25"), \
        ("citizen2", "Davi Cidadão", "111.444.777-35")
    day.submit(*davi)                                       # submitted, just now
    day.submit(*carla, days_ago=12)                         # submitted, overdue
    rid = day.submit(*carla, days_ago=1)                    # in analysis, one step done
    day.analyse(rid, steps=("identidade",))
    rid = day.submit(*davi, days_ago=11)                    # in analysis, overdue
    day.analyse(rid, steps=())
    rid = day.submit(*davi, days_ago=3)                     # rejected
    day.analyse(rid, steps=())
    day.call("POST", f"/requests/{rid}/rejection", "attendant",
             {"justification": "O CPF informado não corresponde ao nome do requerente."})
    rid = day.submit(*carla, days_ago=2)                    # in service, a meeting soon
    day.approve(rid)
    day.followup(rid, "attendant2", "Olá, Carla! Vamos conversar sobre o seu pedido.")
    day.followup(rid, "citizen", "Obrigada! Posso enviar o comprovante por aqui?")
    soon = (datetime.now(UTC) + timedelta(minutes=45)).replace(second=0, microsecond=0)
    day.call("POST", f"/requests/{rid}/meetings", "attendant2",
             {"starts_at": soon.isoformat(), "duration_minutes": 30,
              "subject": "Conferência de documentos"}, 201)
    rid = day.submit(*davi, days_ago=14)                    # in service, overdue
    day.approve(rid, to="att-1")
    day.followup(rid, "citizen2", "Bom dia, há alguma novidade sobre a certidão?")
    for who, verdict, rating, comment in (                  # concluded and reviewed
            (carla, "approved", 5, "Atendimento rápido e muito cordial."),
            (davi, "approved", 4, "Resolvido. Se precisarem, liguem 11 98765-4321."),
            (carla, "rejected", 2, "Demorou mais do que o prazo informado.")):
        rid = day.submit(*who, days_ago=4)
        day.approve(rid)
        day.conclude(rid)
        day.review(rid, who[0], verdict, rating, comment)
    return day.made
