"""The mail port on Amazon SES: the same RFC 5322 message the other adapters write, sent
raw, so text and HTML parts and headers are identical whichever notifier runs."""

from __future__ import annotations

from typing import Any

from shared.mail import Mail, to_bytes
from shared.settings import Settings


class SesMailer:
    def __init__(self, settings: Settings, *, client: Any = None) -> None:
        self.settings = settings
        self.sender = settings.ses_sender
        self._client = client

    @property
    def client(self) -> Any:
        if self._client is None:
            from shared.aws import client

            self._client = client(self.settings, "ses")
        return self._client

    def send(self, mail: Mail) -> None:
        # A rejection (unverified address, throttling) raises: the worker's retries and
        # dead letters then keep the notification, rather than dropping it silently.
        self.client.send_raw_email(
            Source=self.sender, Destinations=[mail.to],
            RawMessage={"Data": to_bytes(mail, self.sender)})
