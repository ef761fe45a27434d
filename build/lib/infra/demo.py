"""`atende dev --demo`: a demo institution, loaded through the public API, and tokens to try
it at once. Safe to run on every start: the creates carry fixed Idempotency-Keys."""

from __future__ import annotations

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


def load_demo(platform: Any) -> dict[str, Any]:
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
    print(f"Demo institution {ORG!r}, unit {UNIT!r}, service {service_id}", flush=True)
    for who, t in tok.items():
        print(f"  {who:<11} {t}", flush=True)
    return {"service_id": service_id, "tokens": tok}
