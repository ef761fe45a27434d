"""Who is calling: bearer JWT verification and the typed principal."""

from __future__ import annotations

import functools
import logging
import os
import secrets
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import ValidationError

from shared.datadir import write_private
from shared.errors import Unauthorized
from shared.model import Model
from shared.settings import Settings

if TYPE_CHECKING:
    import jwt

log = logging.getLogger("atende.auth")
ROLES = frozenset({"citizen", "attendant", "registrar"})
# How a person without a usable name is shown: never by their sub, which with gov.br is
# their CPF.
CITIZEN_LABEL = "Cidadão"
STAFF_LABEL = "Atendente"
LABELS = frozenset({CITIZEN_LABEL, STAFF_LABEL})
# Verified tokens are remembered (never past their exp) so that a client's every request
# does not pay for decoding and checking the same token again: that was a third of the
# time of a cheap read. A bounded number, for a bounded time.
VERIFIED_CACHE_SIZE = 4096
VERIFIED_CACHE_SECONDS = 300.0
REQUIRED_CLAIMS = ["exp", "iss", "aud", "sub"]


class Principal(Model, frozen=True):
    sub: str
    name: str = ""
    email: str | None = None
    roles: tuple[str, ...] = ()
    org: str | None = None
    unit: str | None = None

    def has(self, role: str) -> bool:
        return role in self.roles

    @property
    def is_staff(self) -> bool:
        return bool(self.org) and ("attendant" in self.roles or "registrar" in self.roles)

    @property
    def display_name(self) -> str:
        """The name to record for this person, or their role's label."""
        return self.name_as("attendant" if self.is_staff else "citizen")

    def name_as(self, role: str) -> str:
        """The name to record for this person acting as ``role``."""
        return shown_name(self.name, self.sub, citizen=role == "citizen")


@functools.lru_cache(maxsize=4096)  # every party of every answer passes here, a few names
def real_name(name: str | None, sub: str | None = None) -> str:
    """``name`` if it is a person's name: not blank, not the sub, not a bare number (a CPF
    in the name claim) and not one of the labels; else ""."""
    name = " ".join((name or "").split())
    if not name or name == sub or name in LABELS or not any(c.isalpha() for c in name):
        return ""
    return name


def shown_name(name: str | None, sub: str | None = None, *, citizen: bool) -> str:
    """How a person is named to others: their name, else their role's label."""
    return real_name(name, sub) or (CITIZEN_LABEL if citizen else STAFF_LABEL)


@dataclass
class Verifier:
    """Verifies a bearer token with one pinned algorithm family; never trusts the header."""

    issuer: str
    audience: str
    secret: str | None = None
    jwks_url: str | None = None
    algorithms: list[str] = field(default_factory=lambda: ["RS256", "ES256"])
    leeway: int = 30
    _verified: dict[str, tuple[Principal, float]] = field(
        default_factory=dict, init=False, repr=False, compare=False)
    _verified_lock: threading.Lock = field(
        default_factory=threading.Lock, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self._jwks: jwt.PyJWKClient | None = None
        if self.jwks_url:
            import jwt

            self._jwks = jwt.PyJWKClient(self.jwks_url, cache_keys=True)

    def verify(self, token: str) -> Principal:
        now = time.time()
        hit = self._verified.get(token)
        if hit is not None and now < hit[1]:
            return hit[0]
        principal, exp = self._verify(token)
        with self._verified_lock:
            if len(self._verified) >= VERIFIED_CACHE_SIZE:
                self._verified.pop(next(iter(self._verified)))  # the oldest
            self._verified[token] = (principal, min(exp, now + VERIFIED_CACHE_SECONDS))
        return principal

    def _verify(self, token: str) -> tuple[Principal, float]:
        # PyJWT imports cryptography whole: a function that verifies no token (a public
        # read, a worker, the relay) does not load it.
        import jwt

        try:
            if self._jwks is not None:
                key = self._jwks.get_signing_key_from_jwt(token).key
                algorithms = self.algorithms
            elif self.secret:
                key, algorithms = self.secret, ["HS256"]
            else:
                raise Unauthorized("no verification key configured")
            claims = jwt.decode(
                token,
                key,
                algorithms=algorithms,
                audience=self.audience,
                issuer=self.issuer,
                leeway=self.leeway,
                options={"require": REQUIRED_CLAIMS},
            )
        except (jwt.PyJWTError, ValueError) as exc:
            # The operator learns why; the client keeps the generic answer, and the token
            # itself is never written anywhere.
            log.info("token refused", extra={"fields": {"reason": refusal_reason(exc)}})
            raise Unauthorized("invalid or expired token") from exc
        roles = claims.get("roles") or []
        if isinstance(roles, str):
            roles = [roles]
        try:
            return Principal(
                sub=str(claims["sub"]),
                name=str(claims.get("name") or ""),
                email=claims.get("email"),
                roles=tuple(r for r in roles if r in ROLES),
                org=claims.get("org"),
                unit=claims.get("unit"),
            ), float(claims["exp"])
        except (ValidationError, TypeError, ValueError) as exc:
            log.info("token refused", extra={"fields": {"reason": "malformed claims"}})
            raise Unauthorized("malformed claims") from exc

    def from_header(self, header: str | None) -> Principal:
        if not header:
            log.info("token refused", extra={"fields": {"reason": "no Authorization header"}})
            raise Unauthorized("missing bearer token")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            log.info("token refused", extra={"fields": {"reason": "not a bearer token"}})
            raise Unauthorized("expected a bearer token")
        return self.verify(token.strip())


def _reasons() -> tuple[tuple[type[Exception], str], ...]:
    import jwt

    return (
        (jwt.ExpiredSignatureError, "expired"),
        (jwt.ImmatureSignatureError, "not yet valid"),
        (jwt.InvalidSignatureError, "bad signature"),
        (jwt.InvalidIssuerError, "wrong issuer"),
        (jwt.InvalidAudienceError, "wrong audience"),
        (jwt.InvalidAlgorithmError, "algorithm not allowed"),
        (jwt.MissingRequiredClaimError, "missing claim"),
        (jwt.PyJWKClientError, "unknown key"),
        (jwt.DecodeError, "malformed token"),
    )


def refusal_reason(exc: Exception) -> str:
    """Why a token was refused, in words an operator can act on (never the token)."""
    import jwt

    for kind, reason in _reasons():
        if isinstance(exc, kind):
            if isinstance(exc, jwt.MissingRequiredClaimError):
                return f"missing claim {exc.claim}"
            return reason
    if isinstance(exc, Unauthorized):
        return exc.detail
    return "invalid token"


def dev_secret(settings: Settings) -> str:
    """The embedded platform's signing secret: from settings, else kept in the data dir so
    that tokens outlive a restart."""
    if settings.jwt_secret:
        return settings.jwt_secret
    path: Path = settings.path("dev-jwt-secret")
    if not path.exists():
        # Written whole under a name of its own, then linked in place: the secret is 0600
        # from its first byte, and two processes starting at once agree on one secret.
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        write_private(tmp, secrets.token_urlsafe(48).encode(), sync=True)
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass  # another process linked its secret first: that one is read below
        finally:
            tmp.unlink()
    return path.read_text().strip()


def no_identity_provider(settings: Settings, what: str) -> str | None:
    """Why ``what`` (a process other than ``atende dev``) may not start, or None: tokens
    signed with the dev secret, which anyone who can read the data directory can mint,
    are accepted outside ``atende dev`` only when a setting says so on purpose."""
    if settings.jwks_url or settings.allow_dev_tokens:
        return None
    return (f"{what}: no identity provider configured; set ATENDE_JWKS_URL to its JWKS, "
            f"or ATENDE_ALLOW_DEV_TOKENS=true to accept dev-secret tokens (trials only)")


def verifier_from(settings: Settings) -> Verifier:
    if settings.jwks_url:
        return Verifier(
            issuer=settings.jwt_issuer,
            audience=settings.jwt_audience,
            jwks_url=settings.jwks_url,
            algorithms=[a for a in settings.jwt_algorithms if not a.startswith("HS")],
            leeway=settings.jwt_leeway_seconds,
        )
    return Verifier(
        issuer=settings.jwt_issuer,
        audience=settings.jwt_audience,
        secret=dev_secret(settings),
        leeway=settings.jwt_leeway_seconds,
    )


def mint(
    secret: str,
    *,
    sub: str,
    roles: list[str],
    issuer: str,
    audience: str,
    name: str | None = None,
    email: str | None = None,
    org: str | None = None,
    unit: str | None = None,
    ttl: int = 3600,
) -> str:
    now = int(time.time())
    claims: dict[str, object] = {
        "sub": sub,
        "roles": roles,
        "iss": issuer,
        "aud": audience,
        "iat": now,
        "exp": now + ttl,
    }
    for key, value in (("name", name), ("email", email), ("org", org), ("unit", unit)):
        if value is not None:
            claims[key] = value
    import jwt

    return jwt.encode(claims, secret, algorithm="HS256")
