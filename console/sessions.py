"""Server-side login sessions on the table port (the console's own ``console`` table).

The browser holds only a random session id; the table holds its SHA-256, so reading the
table gives no cookie to replay. A session carries the person (a Principal's fields), the
CSRF token and, while a login is under way, the OIDC flow's state, nonce and PKCE verifier.
A session expires when idle and, whatever its use, at an absolute age; logging in always
starts a new one (the id changes: no fixation).
"""

from __future__ import annotations

import functools
import hashlib
import secrets
from dataclasses import dataclass, field, replace
from typing import Any

import orjson

from shared.clock import Clock
from shared.identity import Principal
from shared.tables import ConditionFailed, Delete, Put, Table

SK = "SESSION"
# How stale ``seen`` may get before a request writes it again: an idle expiry of minutes
# need not cost a write on every page.
TOUCH_SECONDS = 60


def _key(session_id: str) -> str:
    return "SESSION#" + hashlib.sha256(session_id.encode()).hexdigest()


@functools.lru_cache(maxsize=1024)
def _principal(doc: bytes) -> Principal:
    """A session's person, kept by its stored JSON: every page read it again, and a
    Principal is frozen, so the sessions of the same person share one."""
    return Principal.model_validate_json(doc)


@dataclass(frozen=True)
class Session:
    id: str
    csrf: str
    created: float
    seen: float
    version: int = 1
    principal: Principal | None = None
    pending: dict[str, Any] | None = None  # an OIDC login under way
    id_token: str | None = None  # the provider's, as the end-session endpoint's hint
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def signed_in(self) -> bool:
        return self.principal is not None


class SessionStore:
    def __init__(self, table: Table, clock: Clock, *, idle_seconds: int,
                 absolute_seconds: int) -> None:
        self.table, self.clock = table, clock
        self.idle, self.absolute = idle_seconds, absolute_seconds

    def _now(self) -> float:
        return self.clock.now().timestamp()

    def new(self, principal: Principal | None = None, **kw: Any) -> Session:
        now = self._now()
        session = Session(id=secrets.token_urlsafe(32), csrf=secrets.token_urlsafe(32),
                          created=now, seen=now, principal=principal, **kw)
        self.table.transact([Put(self._item(session), must_not_exist=True)])
        return session

    def load(self, session_id: str | None) -> Session | None:
        """The live session with this id, or None (unknown, idle too long, too old)."""
        if not session_id or len(session_id) > 100:
            return None
        item = self.table.get(_key(session_id), SK)
        if item is None:
            return None
        now = self._now()
        if now - item["seen"] > self.idle or now - item["created"] > self.absolute:
            self.delete(session_id)
            return None
        session = Session(
            id=session_id, csrf=item["csrf"], created=item["created"], seen=item["seen"],
            version=item["version"], pending=item.get("pending"),
            id_token=item.get("id_token"), extra=item.get("extra") or {},
            principal=_principal(orjson.dumps(item["principal"]))
            if item.get("principal") else None)
        if now - session.seen > TOUCH_SECONDS:
            session = self.save(replace(session, seen=now)) or session
        return session

    def save(self, session: Session) -> Session | None:
        """Write a changed session; None when another request changed it first."""
        saved = replace(session, version=session.version + 1)
        try:
            self.table.transact([Put(self._item(saved), expect_version=session.version)])
        except ConditionFailed:
            return None
        return saved

    def take_pending(self, session: Session) -> tuple[Session, dict[str, Any] | None]:
        """The login flow under way, removed from the session in the same step: a
        callback can use it once, however often it is replayed."""
        if session.pending is None:
            return session, None
        saved = self.save(replace(session, pending=None))
        if saved is None:
            return session, None
        return saved, session.pending

    def rotate(self, old: Session | None, principal: Principal, *,
               id_token: str | None = None) -> Session:
        """Log in: a new session for the person, the old one (anonymous) gone."""
        if old is not None:
            self.delete(old.id)
        return self.new(principal, id_token=id_token)

    def delete(self, session_id: str) -> None:
        self.table.transact([Delete(_key(session_id), SK)])

    def _item(self, s: Session) -> dict[str, Any]:
        return {
            "pk": _key(s.id), "sk": SK, "version": s.version, "csrf": s.csrf,
            "created": s.created, "seen": s.seen, "pending": s.pending,
            "id_token": s.id_token, "extra": s.extra,
            "principal": s.principal.model_dump(mode="json") if s.principal else None,
            # DynamoDB's TTL attribute: the table forgets a session past its absolute age.
            "expires": int(s.created + self.absolute),
        }
