"""`atende dev --demo` as the README runs it: the console and its demo login buttons;
`atende serve` never has the development login, whatever the environment says."""

from __future__ import annotations

from pathlib import Path

from infra.demo import PEOPLE
from tests.live import env_for, serving


def test_atende_dev_demo_serves_the_console_with_demo_buttons(tmp_path: Path) -> None:
    with serving(["dev", "--demo"], env_for(tmp_path / "var", "memory://")) as (_, client):
        home = client.simulate_get("/console/")
        assert home.status_code == 200 and "Certidão de regularidade" in home.text
        login = client.simulate_get("/console/entrar")
        assert login.status_code == 200 and 'for="campo-token">Token' in login.text
        for person in PEOPLE.values():
            assert f">Entrar como {person['name']}</button>" in login.text


def test_atende_serve_has_no_development_login(tmp_path: Path) -> None:
    env = env_for(tmp_path / "var", "memory://", ATENDE_CONSOLE_DEV_LOGIN="true")
    with serving(["serve"], env) as (_, client):
        assert client.simulate_get("/console/entrar").status_code == 503
        assert client.simulate_get("/console/").status_code == 200
