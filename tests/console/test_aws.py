"""The console on AWS, under moto: its Lambda function behind the HTTP API, and its
sessions in the console's DynamoDB table (made from infra/template.yaml)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from console.sessions import SessionStore
from infra.aws import template
from infra.aws.http_console import handler
from shared.clock import FrozenClock
from shared.identity import Principal
from shared.settings import Settings
from shared.tables.dynamodb import dynamodb_tables
from tests.aws.conftest import aws_environment, aws_settings
from tests.aws.lambda_events import decode_response, http_event, route


@pytest.fixture(scope="module")
def aws(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    settings = aws_settings(tmp_path_factory.mktemp("aws"), institution_name="Prefeitura")
    with aws_environment(settings) as s:
        handler.reset()  # type: ignore[attr-defined]
        yield s
        handler.reset()  # type: ignore[attr-defined]


def test_sessions_on_dynamodb(aws: Settings) -> None:
    clock = FrozenClock()
    table = dynamodb_tables(aws, ["console"])["console"]
    store = SessionStore(table, clock, idle_seconds=600, absolute_seconds=3600)
    anonymous = store.new()
    pending = store.save(anonymous.__class__(**{**anonymous.__dict__,
                                                "pending": {"state": "s"}}))
    assert pending is not None
    assert store.save(anonymous) is None  # a stale copy loses
    after, flow = store.take_pending(pending)
    assert flow == {"state": "s"} and store.take_pending(after)[1] is None
    person = Principal(sub="att-1", name="Ana", roles=("attendant",), org="o", unit="u")
    session = store.rotate(after, person, id_token="x.y.z")
    assert store.load(anonymous.id) is None
    loaded = store.load(session.id)
    assert loaded is not None and loaded.principal == person and loaded.id_token == "x.y.z"
    item = table.get(_pk(session.id), "SESSION")
    assert item is not None and item["expires"] == int(session.created + 3600)
    clock.advance(seconds=601)
    assert store.load(session.id) is None


def _pk(session_id: str) -> str:
    from console.sessions import _key

    return _key(session_id)


def test_the_console_function_serves_the_console(aws: Settings) -> None:
    assert route("GET", "/console") == "infra.aws.http_console.handler"
    assert route("POST", "/console/sair") == "infra.aws.http_console.handler"
    headers = {"host": "api.test", "x-forwarded-proto": "https"}
    status, hdrs, body = decode_response(handler(http_event("GET", "/console",
                                                            headers=headers), None))
    assert status == 200 and b"<h1>Servi\xc3\xa7os dispon\xc3\xadveis</h1>" in body
    assert hdrs["x-frame-options"] == "DENY"
    # The console alone: the requests service's JSON app is its own function's.
    from infra.aws import runtime

    built = [p for key, p in runtime._built.items() if key[0] == "platform"]
    assert len(built) == 1 and built[0].apps == {} and built[0].console is not None
    css = next(line for line in body.decode().splitlines() if "core." in line)
    url = css.split('href="')[1].split('"')[0]
    status, hdrs, data = decode_response(handler(http_event("GET", url, headers=headers),
                                                 None))
    assert status == 200 and "immutable" in hdrs["cache-control"] and len(data) > 100_000


def test_the_template_keeps_the_oidc_secret_to_the_console() -> None:
    doc = template.load()
    for name in ("OidcClientSecret", "ConsoleSubjectSecret"):
        assert doc["Parameters"][name]["NoEcho"] is True
    functions = {k: r for k, r in doc["Resources"].items()
                 if r["Type"] == "AWS::Serverless::Function"}
    holders = {k for k, r in functions.items()
               if "ATENDE_OIDC_CLIENT_SECRET" in r["Properties"].get("Environment", {})
               .get("Variables", {})}
    assert holders == {"ConsoleFunction"}
    ttl = doc["Resources"]["ConsoleTable"]["Properties"]["TimeToLiveSpecification"]
    assert ttl == {"AttributeName": "expires", "Enabled": True}


def test_the_console_handler_builds_nothing_at_import() -> None:
    code = ("import sys, infra.aws.http_console; print(sorted(m for m in "
            "('boto3', 'falcon', 'jinja2', 'console.app') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=Path(__file__).resolve().parents[2]).stdout
    assert out.strip() == "[]"


def test_an_identity_provider_on_dynamodb_needs_the_subject_secret() -> None:
    oidc = {"oidc_issuer": "https://sso.example.gov.br", "oidc_client_id": "atende",
            "oidc_client_secret": "s", "oidc_redirect_url": "https://x/console/oidc/callback"}
    with pytest.raises(ValueError, match="CONSOLE_SUBJECT_SECRET"):
        Settings(table_backend="dynamodb", **oidc)
    Settings(table_backend="dynamodb", console_subject_secret="k" * 32, **oidc)
