"""The console over a whole platform: its npm assets installed (once), the demo
institution loaded, a Falcon test client on the gateway as a browser on localhost."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import dramatiq
import pytest
from falcon import testing

from console.assets import install
from infra.bootstrap import Platform, build
from infra.demo import PEOPLE, load_demo
from infra.gateway import gateway_for
from shared.clock import FrozenClock
from shared.settings import Settings

ORIGIN = "http://localhost"
_CSRF = re.compile(r'name="csrf" value="([^"]+)"')


@pytest.fixture(scope="session", autouse=True)
def console_assets() -> None:
    install()  # npm ci when node_modules is missing: the README's test command needs it


class Browser:
    """A Falcon test client that keeps cookies and sends what a browser sends."""

    def __init__(self, app: Any, host: str = "localhost", scheme: str = "http") -> None:
        self.client = testing.TestClient(app)
        self.host, self.scheme = host, scheme
        self.cookies: dict[str, str] = {}

    @property
    def origin(self) -> str:
        return f"{self.scheme}://{self.host}"

    def _headers(self, extra: dict[str, str] | None) -> dict[str, str]:
        headers = {"Host": self.host}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        return {**headers, **(extra or {})}

    def _keep(self, result: testing.Result) -> testing.Result:
        for cookie in result.cookies.values():
            if cookie.value and (cookie.max_age is None or cookie.max_age > 0):
                self.cookies[cookie.name] = cookie.value
            else:
                self.cookies.pop(cookie.name, None)
        return result

    def get(self, path: str, headers: dict[str, str] | None = None,
            **kw: Any) -> testing.Result:
        return self._keep(self.client.simulate_get(
            path, headers=self._headers(headers), protocol=self.scheme, **kw))

    def post(self, path: str, form: dict[str, str], headers: dict[str, str] | None = None,
             origin: str | None = "same") -> testing.Result:
        extra = {"Content-Type": "application/x-www-form-urlencoded", **(headers or {})}
        if origin is not None:
            extra["Origin"] = self.origin if origin == "same" else origin
        from urllib.parse import urlencode

        return self._keep(self.client.simulate_post(
            path, body=urlencode(form), headers=self._headers(extra), protocol=self.scheme))

    def csrf(self, path: str) -> str:
        match = _CSRF.search(self.get(path).text)
        assert match, f"no CSRF field on {path}"
        return match.group(1)

    def login_demo(self, who: str) -> testing.Result:
        token = self.csrf("/console/entrar")
        return self.post("/console/entrar/demo", {"csrf": token, "pessoa": who})


@pytest.fixture
def console_settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "var", broker_url="memory://",
                    console_dev_login=True, institution_name="Prefeitura Demo")


@pytest.fixture
def make_console(console_settings: Settings) -> Iterator[Callable[..., Platform]]:
    made: list[tuple[Platform, dramatiq.Worker]] = []

    def make(clock: FrozenClock | None = None, demo: bool = True, **overrides: Any
             ) -> Platform:
        s = console_settings.model_copy(update=overrides) if overrides else console_settings
        platform = build(s, clock=clock, demo=PEOPLE if demo else None)
        worker = dramatiq.Worker(platform.broker, worker_threads=1, worker_timeout=50)
        worker.start()
        made.append((platform, worker))
        if demo:
            load_demo(platform, work=False)  # each test makes the requests it counts
        return platform

    yield make
    for platform, worker in made:
        worker.stop()
        platform.broker.close()


@pytest.fixture
def platform(make_console: Callable[..., Platform]) -> Platform:
    return make_console()


@pytest.fixture
def browser(platform: Platform) -> Browser:
    return Browser(gateway_for(platform))
