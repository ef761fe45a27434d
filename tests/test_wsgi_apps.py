"""Each service stands alone as a WSGI app built from settings in the environment."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import falcon.testing
import pytest

from infra import wsgi

PROBES = {"requests": "/catalog/services", "followups": "/notifications",
          "meetings": "/meetings/join", "reviews": "/reviews/published"}


@pytest.mark.parametrize("name", list(PROBES))
def test_service_is_a_plain_wsgi_app(name: str, tmp_path: Path,
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ATENDE_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("ATENDE_ALLOW_DEV_TOKENS", "true")
    app = getattr(wsgi, name)()
    client = falcon.testing.TestClient(app)
    assert client.simulate_get("/health").status_code == 200
    doc = client.simulate_get("/openapi.json").json
    assert any(path.startswith(PROBES[name].rsplit("/", 1)[0]) for path in doc["paths"])
    # Another service's route is not this app's.
    other = next(p for n, p in PROBES.items() if n != name)
    assert client.simulate_get(other).status_code in (404, 405)
    assert (tmp_path / "atende.db").exists() or any(tmp_path.iterdir())


def test_importing_builds_nothing() -> None:
    code = ("import sys, infra.wsgi; "
            "print(sorted(m for m in ('infra.bootstrap', 'boto3', 'dramatiq') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=Path(__file__).parents[1])
    assert out.stdout.strip() == "[]"
