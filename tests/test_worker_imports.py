"""A worker's code never loads the HTTP edge: importing a service's consumers (and with
them its handlers and model) leaves falcon unloaded; and a function loads what its first
event needs (docs/performance.md, first answers). Each import runs in a fresh
interpreter, since this one has long loaded everything."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

SERVICES = sorted(p.parent.name for p in
                  (Path(__file__).parents[1] / "services").glob("*/consumers.py"))


def test_every_service_has_consumers() -> None:
    assert len(SERVICES) >= 4


@pytest.mark.parametrize("service", SERVICES)
def test_importing_a_services_consumers_does_not_import_falcon(service: str) -> None:
    code = (f"import services.{service}.consumers, sys; "
            "assert 'falcon' not in sys.modules, 'falcon imported'")
    _runs_clean(code)


@pytest.mark.parametrize("service", SERVICES)
def test_a_workers_platform_loads_no_http_and_no_token_code(service: str,
                                                            tmp_path: Path) -> None:
    """What a worker (a Lambda's first SQS record, `atende worker`) builds: its service's
    consumers and actors, without falcon, PyJWT (and its cryptography) or the other
    services' contracts."""
    others = [f"services.{s}.contract" for s in SERVICES if s != service]
    code = ("import sys; from shared.settings import Settings; "
            "from infra.bootstrap import build; "
            f"build(Settings(data_dir={str(tmp_path)!r}), services=({service!r},), "
            "with_http=False); "
            f"loaded = [m for m in ('falcon', 'jwt', 'cryptography', *{others!r}) "
            "if m in sys.modules]; assert not loaded, loaded")
    _runs_clean(code)


def test_a_public_read_loads_no_token_code_and_no_other_service(tmp_path: Path) -> None:
    """An HTTP function's first public read: its own service's app, without PyJWT (and its
    cryptography), the other services' contracts, the console's templates, or the mail
    adapters' email.mime and smtplib (the schemas import shared.mail for its ADDRESS)."""
    others = [f"services.{s}.contract" for s in SERVICES if s != "requests"]
    code = ("import sys; from falcon import testing; from shared.settings import Settings; "
            "from infra.bootstrap import build; "
            f"p = build(Settings(data_dir={str(tmp_path)!r}), services=('requests',)); "
            "got = testing.TestClient(p.apps['requests']).simulate_get('/catalog/services'); "
            "assert got.status_code == 200, got.text; "
            f"loaded = [m for m in ('jwt', 'cryptography', 'jinja2', 'prometheus_client', "
            f"'email.mime', 'smtplib', *{others!r}) if m in sys.modules]; "
            "assert not loaded, loaded")
    _runs_clean(code)


def test_a_read_with_the_broker_left_for_its_first_use_loads_no_dramatiq(tmp_path: Path
                                                                        ) -> None:
    """A Lambda HTTP function's platform (``broker_on_use``): a read loads neither Dramatiq
    nor a broker client; the broker is built, its actors declared and the hook called when
    it is first used (a command's send)."""
    code = ("import sys; from falcon import testing; from shared.settings import Settings; "
            "from infra.bootstrap import build; seen = []; "
            f"p = build(Settings(data_dir={str(tmp_path)!r}), services=('requests',), "
            "broker_on_use=seen.append); "
            "got = testing.TestClient(p.apps['requests']).simulate_get('/catalog/services'); "
            "assert got.status_code == 200, got.text; "
            "loaded = [m for m in sys.modules if m.split('.')[0] in ('dramatiq', "
            "'dramatiq_sqs')]; assert not loaded and not seen and not p.actors, loaded; "
            "broker = p.broker; assert seen == [broker] and p.broker is broker, seen; "
            "assert 'requests' in p.actors")
    _runs_clean(code)


def test_the_consoles_first_page_loads_no_token_code_and_no_metrics(tmp_path: Path) -> None:
    """The console function's first page: PyJWT (and its cryptography) wait for a login,
    prometheus_client for a metric's use or a scrape, the other services' handlers for
    the pages that call them."""
    others = [f"services.{s}" for s in SERVICES if s != "requests"]
    code = ("import sys; from falcon import testing; from shared.settings import Settings; "
            "from infra.bootstrap import build; "
            f"p = build(Settings(data_dir={str(tmp_path)!r}), services=('requests',)); "
            "got = testing.TestClient(p.console).simulate_get('/console', protocol='https'); "
            "assert got.status_code == 200, got.text; "
            "loaded = [m for m in sys.modules if m in ('jwt', 'cryptography', "
            f"'prometheus_client') or m.startswith({tuple(others)!r})]; "
            "assert not loaded, loaded")
    _runs_clean(code)


def test_a_citizens_notifications_load_no_templates(tmp_path: Path) -> None:
    """The followups function's first read with a token: Jinja waits for a notification's
    texts, which only its consumer renders."""
    code = ("import sys; from falcon import testing; from shared.settings import Settings; "
            "from shared.identity import dev_secret, mint; from infra.bootstrap import build; "
            f"s = Settings(data_dir={str(tmp_path)!r}); "
            "p = build(s, services=('followups',)); "
            "token = mint(dev_secret(s), sub='cid-1', roles=['citizen'], "
            "issuer=s.jwt_issuer, audience=s.jwt_audience); "
            "got = testing.TestClient(p.apps['followups']).simulate_get('/notifications', "
            "headers={'Authorization': 'Bearer ' + token}); "
            "assert got.status_code == 200, got.text; "
            "loaded = [m for m in ('jinja2', 'email.mime', 'smtplib') if m in sys.modules]; "
            "assert not loaded, loaded")
    _runs_clean(code)


@pytest.mark.parametrize("metrics", [False, True])
def test_with_metrics_off_a_consumer_applies_an_event_without_prometheus(
        metrics: bool, tmp_path: Path) -> None:
    """ATENDE_METRICS=false, as the Lambda functions run: a worker's platform applies an
    event (and skips its repeat) without ever importing prometheus_client. On, the same
    effects are counted."""
    code = ("import sys; from shared import messages as m; from shared.settings import Settings; "
            "from infra.bootstrap import build; "
            f"p = build(Settings(data_dir={str(tmp_path)!r}, metrics={metrics}), "
            "services=('reviews',), with_http=False); "
            "doc = m.RosterChanged(attendant=m.Party(sub='att-1', name='Ana'), org='o', "
            "unit='u', enabled=True, version=1).model_dump(mode='json'); "
            "assert p.consumers['reviews'](doc) and not p.consumers['reviews'](doc); "
            f"assert ('prometheus_client' in sys.modules) is {metrics}, 'prometheus_client'; "
            f"{_COUNTED if metrics else ''}")
    _runs_clean(code)


_COUNTED = ("from prometheus_client import REGISTRY; "
            "n = lambda o: REGISTRY.get_sample_value('atende_consumer_effects_total', "
            "{'consumer': 'reviews', 'type': 'RosterChanged', 'outcome': o}); "
            "assert (n('applied'), n('repeat')) == (1.0, 1.0), (n('applied'), n('repeat'))")


def _runs_clean(code: str) -> None:
    """``code`` run in a fresh interpreter, from the repository's root, exits 0."""
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=Path(__file__).parents[1], check=False)
    assert run.returncode == 0, run.stderr
