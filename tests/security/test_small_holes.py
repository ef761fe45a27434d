"""Issue 14, item 8: the small holes the audit found, each closed for good.

Run: ``pytest tests/security/test_small_holes.py``."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from infra.bootstrap import build
from services.reviews.screening import screen
from shared.identity import dev_secret
from shared.settings import Settings
from tests.helpers import pdf_bytes, submit
from tests.live import REPO, env_for
from tests.security.test_authz_matrix import MATRIX, QUERIES, ROLES
from tests.security.world import World, build_world


@pytest.fixture
def world(harness: Any) -> World:
    w = build_world(harness)
    harness.drain()
    return w


def _list_routes(h: Any) -> list[tuple[str, str]]:
    return sorted((op.method, op.path) for svc in h.platform.services.values()
                  for op in svc.operations if "limit" in op.query_names)


def wide(text: str) -> str:
    """``text`` in full-width forms (U+FF01-FF5E), as an East Asian keyboard types it."""
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in text)


@pytest.mark.parametrize("limit", ["²", "¹⁰", "①", "٣", wide("10"), "1" * 5000, "-1", "1.0"])
def test_small_ones_limit_of_unicode_digits_is_422_on_every_list_route(
        harness: Any, world: World, limit: str) -> None:
    routes = _list_routes(harness)
    assert len(routes) >= 8, routes  # every service's lists, found from their operations
    for method, template in routes:
        expected, target, _ = MATRIX[(method, template)]
        role = next(r for r, status in zip(ROLES, expected, strict=True) if status < 400)
        ids = {**world.ids["-"], **world.ids.get(target, {})}
        query = QUERIES.get((method, template), "").format(**ids)
        query = "&".join(q for q in (query, f"limit={quote(limit)}") if q)
        r = harness.client.simulate_get(template.format(**ids), query_string=query,
                                        headers=world.headers[role])
        assert r.status_code == 422, (template, limit, r.status_code, r.text[:300])
        assert r.headers["content-type"] == "application/problem+json"
        assert r.json["errors"][0]["field"] == "limit"


def _modes(root: Path) -> dict[str, int]:
    return {str(p.relative_to(root.parent)): stat.S_IMODE(p.stat().st_mode)
            for p in [root, *root.rglob("*")]}


@pytest.fixture
def open_umask() -> Iterator[None]:
    """The most permissive umask: what the platform creates must not depend on it."""
    old = os.umask(0)
    try:
        yield
    finally:
        os.umask(old)


def test_small_ones_data_dir_is_0700_and_its_files_0600(open_umask: None,
                                                         make_harness: Any) -> None:
    h = make_harness()
    from tests.helpers import approve, setup_service

    s = setup_service(h)
    rid = submit(h, s, document=pdf_bytes())  # a blob
    approve(h, s, rid)  # a mail (the file mailer) to the citizen
    h.drain()
    root = h.platform.settings.data_dir
    modes = _modes(root)
    names = set(modes)
    for expected in ("var/atende.db", "var/atende.db-wal", "var/atende.db-shm",
                     "var/dev-jwt-secret"):
        assert expected in names, sorted(names)
    assert any(n.startswith("var/mail/") and n.endswith(".eml") for n in names), names
    assert any(n.startswith("var/blobs/requests/") and p.is_file()
               for n, p in ((n, root.parent / n) for n in names)), names
    wide = {n: oct(m) for n, m in modes.items()
            if m != (0o700 if (root.parent / n).is_dir() else 0o600)}
    assert wide == {}, wide


def test_small_ones_dev_secret_is_created_0600_not_chmod_ed_after(
        open_umask: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    chmods: list[str] = []
    real_chmod = os.chmod

    def watched(path: Any, mode: int, *a: Any, **kw: Any) -> None:
        chmods.append(str(path))
        real_chmod(path, mode, *a, **kw)

    monkeypatch.setattr(os, "chmod", watched)
    settings = Settings(data_dir=tmp_path / "fresh")
    secret = dev_secret(settings)
    path = settings.data_dir / "dev-jwt-secret"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert not [c for c in chmods if c.endswith("dev-jwt-secret")], chmods
    assert dev_secret(settings) == secret and len(secret) >= 32
    assert [p.name for p in settings.data_dir.iterdir()] == ["dev-jwt-secret"]  # no leftovers


def test_small_ones_an_existing_wide_data_dir_is_narrowed(tmp_path: Path) -> None:
    data = tmp_path / "old"
    data.mkdir(mode=0o755)
    data.chmod(0o755)
    (data / "atende.db").touch()
    (data / "atende.db").chmod(0o644)
    platform = build(Settings(data_dir=data))
    platform.broker.close()
    assert stat.S_IMODE(data.stat().st_mode) == 0o700
    assert stat.S_IMODE((data / "atende.db").stat().st_mode) == 0o600


@pytest.mark.parametrize("email", ["a@b.co,root", "a@b.co, c@d.co", "a@b.co;c@d.co",
                                   "Gil <gil@ex.com>", '"a b"@ex.com', "a@b.co\r\nBcc: x@y.co",
                                   "root", "a@localhost"])
def test_small_ones_guest_email_is_exactly_one_valid_address(harness: Any, world: World,
                                                             email: str) -> None:
    ids = world.ids["in_service"]
    path = f"/requests/{ids['request_id']}/meetings/{ids['meeting_id']}/guests"
    r = harness.client.simulate_post(path, headers=world.s.h("analyst"),
                                     json={"name": "Gil", "email": email})
    assert r.status_code == 422, (email, r.status_code, r.text[:300])
    assert r.json["errors"][0]["field"] == "email"
    r = harness.client.simulate_post(path, headers=world.s.h("analyst"),
                                     json={"name": "Gil", "email": "gil.souza+x@ex.gov.br"})
    assert r.status_code == 201, r.text


def _start(command: str, data: Path, **extra: str) -> subprocess.CompletedProcess[str]:
    env = env_for(data, "memory://", **extra)
    del env["ATENDE_ALLOW_DEV_TOKENS"]
    env.update(extra)
    args = [command] + (["--port", "0"] if command == "serve" else [])
    return subprocess.run([sys.executable, "-m", "infra.cli", *args], env=env, cwd=REPO,
                          capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("command", ["serve", "worker", "scheduler"])
def test_small_ones_no_identity_provider_is_refused_outside_dev(tmp_path: Path,
                                                                command: str) -> None:
    try:
        out = _start(command, tmp_path / "var")
    except subprocess.TimeoutExpired:
        pytest.fail(f"atende {command} started without an identity provider")
    assert out.returncode == 2, out
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in out.stderr, out.stderr
    assert "ATENDE_JWKS_URL" in lines[0] and "ATENDE_ALLOW_DEV_TOKENS" in lines[0], lines
    assert not (tmp_path / "var" / "dev-jwt-secret").exists()  # refused before anything


def test_small_ones_dev_tokens_on_purpose_still_start(tmp_path: Path) -> None:
    from shared.identity import no_identity_provider

    on_purpose = Settings(data_dir=tmp_path, allow_dev_tokens=True)
    with_idp = Settings(data_dir=tmp_path, jwks_url="https://idp.example.gov.br/jwks")
    bare = Settings(data_dir=tmp_path)
    assert no_identity_provider(on_purpose, "atende serve") is None
    assert no_identity_provider(with_idp, "atende serve") is None
    assert "ATENDE_JWKS_URL" in (no_identity_provider(bare, "atende serve") or "")


def test_small_ones_wsgi_factories_refuse_without_identity_provider(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from infra import wsgi

    monkeypatch.setenv("ATENDE_DATA_DIR", str(tmp_path / "var"))
    monkeypatch.delenv("ATENDE_JWKS_URL", raising=False)
    monkeypatch.delenv("ATENDE_ALLOW_DEV_TOKENS", raising=False)
    for factory in (wsgi.requests, wsgi.gateway):
        with pytest.raises(SystemExit) as refused:
            factory()
        assert "ATENDE_JWKS_URL" in str(refused.value.code)
    assert not (tmp_path / "var").exists()


@pytest.mark.parametrize("comment, flag", [
    ("Meu CPF é 529-982-247-25, liguem.", "cpf"),
    ("cpf 529_982_247_25", "cpf"),
    ("CPF " + wide("529.982.247-25"), "cpf"),
    ("CPF 529\u200b982\u200b247\u200b25", "cpf"),
    ("Escrevam para ana" + wide("@") + "example.com", "email"),
    ("Escrevam para " + wide("ana") + "@" + wide("example.com"), "email"),
    ("CNPJ 11-222-333_0001-81", "cnpj"),
])
def test_small_ones_screening_sees_through_separators_and_compatibility_forms(
        comment: str, flag: str) -> None:
    result = screen(comment)
    assert flag in result.flags, (comment, result)
    assert "529" not in result.redacted and "ana" not in result.redacted.split("para")[-1]
