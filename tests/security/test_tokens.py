"""Forged and broken bearer tokens at the HTTP edge: every service behind the gateway
answers 401 problem+json, for the embedded HS256 secret and for an identity provider's
RS256 keys published as a JWKS."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

ISS, AUD, KID = "https://sso.example.gov.br", "atende-api", "idp-key-1"
# One read route per service: each verifies the token itself, behind the gateway.
ROUTES = ["/requests", "/notifications", "/requests/r1/meetings", "/reviews"]


def b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def segment(doc: dict[str, Any]) -> str:
    return b64(json.dumps(doc).encode())


def claims(**over: Any) -> dict[str, Any]:
    now = int(time.time())
    doc: dict[str, Any] = {"sub": "ana", "roles": ["citizen"], "name": "Ana", "iss": ISS,
                           "aud": AUD, "iat": now, "exp": now + 600}
    doc.update(over)
    return {k: v for k, v in doc.items() if v is not None}


def hs256(key: bytes, header: dict[str, Any], body: dict[str, Any]) -> str:
    """Signed by hand: PyJWT rightly refuses to HMAC with a PEM key, an attacker would not."""
    signing_input = f"{segment(header)}.{segment(body)}"
    mac = hmac.new(key, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64(mac)}"


def assert_401(harness: Any, token: str) -> None:
    for route in ROUTES:
        r = harness.client.simulate_get(route, headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 401, (route, r.status_code, r.text)
        assert r.headers["content-type"] == "application/problem+json", route
        assert r.json["status"] == 401 and r.json["code"] == "unauthorized", r.json
        assert r.headers["www-authenticate"].startswith("Bearer")


def assert_ok(harness: Any, token: str) -> None:
    r = harness.client.simulate_get("/requests", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 200, r.text


# --- the identity provider's RS256 keys ---------------------------------------------


@pytest.fixture(scope="module")
def idp_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def jwks_url(idp_key: rsa.RSAPrivateKey) -> Iterator[str]:
    """The identity provider's JWKS over real HTTP (PyJWT fetches nothing else)."""
    jwk = json.loads(RSAAlgorithm.to_jwk(idp_key.public_key()))
    doc = json.dumps({"keys": [{**jwk, "kid": KID, "alg": "RS256", "use": "sig"}]}).encode()

    class Jwks(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(doc)))
            self.end_headers()
            self.wfile.write(doc)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Jwks)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/.well-known/jwks.json"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def idp(make_harness: Any, jwks_url: str) -> Any:
    return make_harness(jwks_url=jwks_url, jwt_issuer=ISS, jwt_audience=AUD)


def rs256(key: rsa.RSAPrivateKey, body: dict[str, Any], kid: str = KID) -> str:
    return jwt.encode(body, key, algorithm="RS256", headers={"kid": kid})


def test_idp_token_is_accepted(idp: Any, idp_key: rsa.RSAPrivateKey) -> None:
    assert_ok(idp, rs256(idp_key, claims()))


def test_hs256_signed_with_the_public_key_is_refused(idp: Any,
                                                     idp_key: rsa.RSAPrivateKey) -> None:
    public = idp_key.public_key()
    for key in (public.public_bytes(serialization.Encoding.PEM,
                                    serialization.PublicFormat.SubjectPublicKeyInfo),
                public.public_bytes(serialization.Encoding.PEM,
                                    serialization.PublicFormat.PKCS1),
                RSAAlgorithm.to_jwk(public).encode()):
        assert_401(idp, hs256(key, {"alg": "HS256", "typ": "JWT", "kid": KID}, claims()))


def test_unknown_kid_is_refused(idp: Any, idp_key: rsa.RSAPrivateKey) -> None:
    assert_401(idp, rs256(idp_key, claims(), kid="not-a-published-key"))
    header = {"alg": "RS256", "typ": "JWT"}  # no kid at all
    assert_401(idp, jwt.encode(claims(), idp_key, algorithm="RS256", headers=header))


def test_signed_by_another_key_with_the_published_kid_is_refused(idp: Any) -> None:
    impostor = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    assert_401(idp, rs256(impostor, claims()))


def test_alg_none_is_refused_by_the_idp_verifier(idp: Any) -> None:
    for alg in ("none", "None", "NONE"):
        assert_401(idp, f"{segment({'alg': alg, 'kid': KID})}.{segment(claims())}.")


@pytest.mark.parametrize("bad", [
    {"iss": "https://evil.example.com"}, {"aud": "another-api"}, {"exp": None},
    {"exp": int(time.time()) - 3600}, {"nbf": int(time.time()) + 3600}, {"sub": None},
])
def test_bad_claims_from_the_idp_key_are_refused(idp: Any, idp_key: rsa.RSAPrivateKey,
                                                 bad: dict[str, Any]) -> None:
    assert_401(idp, rs256(idp_key, claims(**bad)))


def test_tampered_idp_payload_is_refused(idp: Any, idp_key: rsa.RSAPrivateKey) -> None:
    head, _, sig = rs256(idp_key, claims()).split(".")
    forged = segment(claims(roles=["registrar"], org="pref-sp"))
    assert_401(idp, f"{head}.{forged}.{sig}")


# --- the embedded HS256 secret ------------------------------------------------------


def dev_claims(harness: Any, **over: Any) -> dict[str, Any]:
    s = harness.platform.settings
    return claims(**{"iss": s.jwt_issuer, "aud": s.jwt_audience, **over})


def dev_token(harness: Any, **over: Any) -> str:
    return jwt.encode(dev_claims(harness, **over), harness.secret, algorithm="HS256")


def test_dev_token_is_accepted(harness: Any) -> None:
    assert_ok(harness, dev_token(harness))


@pytest.mark.parametrize("bad", [
    {"iss": "https://evil.example.com"}, {"aud": "another-api"}, {"exp": None},
    {"exp": int(time.time()) - 3600}, {"nbf": int(time.time()) + 3600}, {"iss": None},
    {"aud": None}, {"exp": "tomorrow"},
])
def test_bad_dev_claims_are_refused(harness: Any, bad: dict[str, Any]) -> None:
    assert_401(harness, dev_token(harness, **bad))


def test_alg_none_and_other_hmac_are_refused(harness: Any) -> None:
    body = dev_claims(harness)
    for alg in ("none", "None"):
        assert_401(harness, f"{segment({'alg': alg, 'typ': 'JWT'})}.{segment(body)}.")
    for alg in ("HS384", "HS512"):
        assert_401(harness, jwt.encode(body, harness.secret, algorithm=alg))


def test_tampered_dev_payload_and_wrong_secret_are_refused(harness: Any) -> None:
    head, _, sig = dev_token(harness).split(".")
    forged = segment(dev_claims(harness, roles=["registrar"], org="pref-sp"))
    assert_401(harness, f"{head}.{forged}.{sig}")
    assert_401(harness, jwt.encode(dev_claims(harness), "a-guessed-secret-" * 4,
                                   algorithm="HS256"))
    # A header claiming a key id changes nothing: the dev secret is the only key.
    assert_401(harness, hs256(b"attacker", {"alg": "HS256", "kid": "dev"},
                              dev_claims(harness)))


@pytest.mark.parametrize("header", [
    "", "Bearer", "Bearer ", "Basic YW5hOnNlbmhh", "Bearer not.a.jwt", "Bearer a.b",
    "Bearer " + "A" * 20_000, "Bearer ..", "Bearer eyJhbGciOiJIUzI1NiJ9.%%%.sig",
])
def test_malformed_headers_are_401(harness: Any, header: str) -> None:
    for route in ROUTES:
        r = harness.client.simulate_get(route, headers={"Authorization": header} if header
                                        else {})
        assert r.status_code == 401, (route, header[:30], r.status_code, r.text)
        assert r.headers["content-type"] == "application/problem+json"
