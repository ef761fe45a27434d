"""Jitsi Meet rooms: unguessable names, and join links that carry a JWT for Jitsi's token
authentication when an app id and secret are configured (self-hosted Jitsi with
``authentication: token``); without them, the plain room URL."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

from shared.settings import Settings


@dataclass(frozen=True)
class JoinLink:
    url: str
    room: str
    expires_at: datetime


class JitsiRooms:
    def __init__(self, base_url: str, app_id: str | None = None,
                 app_secret: str | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.domain = urlsplit(self.base_url).hostname or ""
        self.app_id = app_id
        self.app_secret = app_secret

    @property
    def token_auth(self) -> bool:
        return bool(self.app_id and self.app_secret)

    def new_room(self) -> str:
        # Lower case because Jitsi folds room names to lower case; 32 characters of a
        # 38-symbol alphabet still leave well over 128 bits to guess.
        return "atende-" + secrets.token_urlsafe(24).lower()

    def link(self, room: str, *, user_id: str, name: str, moderator: bool,
             expires_at: datetime) -> JoinLink:
        url = f"{self.base_url}/{room}"
        if self.token_auth:
            import jwt  # with cryptography: only where a link carries a token

            assert self.app_id is not None and self.app_secret is not None
            claims = {
                "iss": self.app_id, "aud": "jitsi", "sub": self.domain, "room": room,
                "iat": int(time.time()), "exp": int(expires_at.timestamp()),
                "context": {"user": {"id": self._pseudonym(room, user_id), "name": name,
                                     "moderator": moderator}},
            }
            url += "?jwt=" + jwt.encode(claims, self.app_secret, algorithm="HS256")
        return JoinLink(url, room, expires_at)


    def _pseudonym(self, room: str, user_id: str) -> str:
        """The person's id as Jitsi (a third party, and the room's other participants)
        sees it: stable within a room, and never the sub (with gov.br, a CPF)."""
        assert self.app_secret is not None
        mac = hmac.new(self.app_secret.encode(), f"{room}\n{user_id}".encode(), hashlib.sha256)
        return mac.hexdigest()[:32]


def rooms_from(settings: Settings) -> JitsiRooms:
    return JitsiRooms(settings.jitsi_base_url, settings.jitsi_app_id, settings.jitsi_app_secret)
