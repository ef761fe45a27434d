"""Guest invite tokens: ``<guest id>.<HMAC-SHA256(secret, guest id)>``.

The token can be recomputed from the guest id, so neither the store nor the outbox (the
mail job) ever holds it; the store keeps only its SHA-256 to match on join. And the mail
that carries it to the guest.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import datetime

from shared.clock import BRT
from shared.identity import dev_secret
from shared.mail import Mail
from shared.settings import Settings


class InviteTokens:
    def __init__(self, secret: str) -> None:
        self._key = secret.encode()

    def _mac(self, guest_id: str) -> str:
        digest = hmac.new(self._key, guest_id.encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).decode().rstrip("=")

    def token(self, guest_id: str) -> str:
        return f"{guest_id}.{self._mac(guest_id)}"

    def guest_id(self, token: str) -> str | None:
        """The guest id a token names, if its MAC holds; None for anything forged."""
        guest_id, dot, mac = token.partition(".")
        if not dot or not guest_id or not mac:
            return None
        ok = hmac.compare_digest(mac.encode(), self._mac(guest_id).encode())
        return guest_id if ok else None


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def hash_matches(token: str, stored: str) -> bool:
    return hmac.compare_digest(token_hash(token).encode(), stored.encode())


def invites_from(settings: Settings) -> InviteTokens:
    return InviteTokens(settings.invite_secret or dev_secret(settings))


def invitation(*, to: str, guest_name: str, attendant: str, subject: str,
               starts_at: datetime, ends_at: datetime, token: str,
               console_url: str | None = None) -> Mail:
    start = starts_at.astimezone(BRT)
    end = ends_at.astimezone(BRT)
    when = f"{start:%d/%m/%Y}, das {start:%H:%M} às {end:%H:%M} (horário de Brasília)"
    text = (
        f"Olá, {guest_name}.\n\n"
        f"{attendant} convidou você para uma videoconferência sobre \"{subject}\", "
        f"em {when}.\n\n"
        "A sala abre 15 minutos antes do início. Para entrar, informe no Atende o seu nome "
        "e este código de convite, que vale só para esta reunião e até o seu término:\n\n"
        f"    {token}\n\n"
        "Não compartilhe este código.\n"
    )
    if console_url:
        text += ("\nOu abra o convite, que já leva o código: "
                 f"{console_url.rstrip('/')}/console/convite?codigo={token}\n")
    return Mail(to=to, subject=f"Convite para videoconferência em {start:%d/%m/%Y}", text=text)
