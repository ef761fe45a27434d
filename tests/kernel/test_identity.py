"""Bearer tokens: algorithm pinned, exp/iss/aud required, nothing trusted from the header."""

from __future__ import annotations

import base64
import json
import time

import jwt
import pytest

from shared.errors import Unauthorized
from shared.identity import Verifier, mint

SECRET = "s" * 64
V = Verifier(issuer="atende-dev", audience="atende", secret=SECRET, leeway=0)


def token(**over: object) -> str:
    claims = {"sub": "u1", "roles": ["citizen"], "iss": "atende-dev", "aud": "atende",
              "exp": int(time.time()) + 60, "name": "Ana"}
    claims.update(over)
    claims = {k: v for k, v in claims.items() if v is not None}
    return jwt.encode(claims, SECRET, algorithm="HS256")


def b64(doc: dict[str, object]) -> str:
    return base64.urlsafe_b64encode(json.dumps(doc).encode()).decode().rstrip("=")


def test_valid_token_gives_a_typed_principal() -> None:
    p = V.verify(mint(SECRET, sub="a1", roles=["attendant", "root"], issuer="atende-dev",
                      audience="atende", org="o", unit="u", name="Bia"))
    assert (p.sub, p.roles, p.org, p.unit, p.name) == ("a1", ("attendant",), "o", "u", "Bia")
    assert p.is_staff


@pytest.mark.parametrize("bad", [
    {"exp": int(time.time()) - 10},
    {"exp": None},
    {"iss": "someone-else"},
    {"iss": None},
    {"aud": "other"},
    {"aud": None},
    {"sub": None},
    {"nbf": int(time.time()) + 3600},
])
def test_bad_claims_are_refused(bad: dict[str, object]) -> None:
    with pytest.raises(Unauthorized):
        V.verify(token(**bad))


def test_alg_none_is_refused() -> None:
    unsigned = b64({"alg": "none", "typ": "JWT"}) + "." + b64(
        {"sub": "u1", "iss": "atende-dev", "aud": "atende", "exp": int(time.time()) + 60}) + "."
    with pytest.raises(Unauthorized):
        V.verify(unsigned)


def test_forged_signature_and_tampered_payload_are_refused() -> None:
    with pytest.raises(Unauthorized):
        V.verify(jwt.encode({"sub": "u1", "iss": "atende-dev", "aud": "atende",
                             "exp": int(time.time()) + 60}, "x" * 48, algorithm="HS256"))
    head, _, sig = token().split(".")
    forged = head + "." + b64({"sub": "admin", "roles": ["registrar"], "iss": "atende-dev",
                               "aud": "atende", "exp": int(time.time()) + 60}) + "." + sig
    with pytest.raises(Unauthorized):
        V.verify(forged)


def test_other_hmac_algorithms_are_not_accepted() -> None:
    t = jwt.encode({"sub": "u1", "iss": "atende-dev", "aud": "atende",
                    "exp": int(time.time()) + 60}, SECRET, algorithm="HS512")
    with pytest.raises(Unauthorized):
        V.verify(t)


@pytest.mark.parametrize("header", [None, "", "Basic abc", "Bearer", "Bearer not.a.jwt"])
def test_malformed_headers_are_401(header: str | None) -> None:
    with pytest.raises(Unauthorized):
        V.from_header(header)
