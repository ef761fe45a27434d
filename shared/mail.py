"""The mail port and its adapters: RFC 5322 files under the data dir (the embedded
default), SMTP (standard library). SES arrives with the AWS adapters."""

from __future__ import annotations

import os
import smtplib
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path
from typing import Protocol

from shared.datadir import private_dir, write_private
from shared.ids import new_id
from shared.settings import Settings

# Exactly one address (RFC 5321's dot-atom local part, a domain of letter-digit-hyphen
# labels): no list, display name, comment, quoting or route that a mail header or a relay
# would read as more recipients than the one validated.
ADDRESS = (r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
           r"@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}$")


@dataclass(frozen=True)
class Mail:
    to: str
    subject: str
    text: str
    html: str | None = None


class Mailer(Protocol):
    def send(self, mail: Mail) -> None: ...


def to_message(mail: Mail, sender: str) -> EmailMessage:
    msg = EmailMessage()
    # EmailMessage refuses CR/LF in header values, so a subject cannot inject headers.
    msg["From"] = sender
    msg["To"] = mail.to
    msg["Subject"] = mail.subject
    msg["Date"] = formatdate(localtime=False)
    msg["Message-ID"] = make_msgid(domain="atende.local")
    msg.set_content(mail.text)
    if mail.html:
        msg.add_alternative(mail.html, subtype="html")
    return msg


class FileMailer:
    """One .eml file per message, written atomically, readable with any mail tool."""

    def __init__(self, root: Path, sender: str) -> None:
        self.root = private_dir(root)
        self.sender = sender

    def send(self, mail: Mail) -> None:
        data = bytes(to_message(mail, self.sender))
        name = f"{new_id()}.eml"
        tmp = self.root / f".{name}.tmp"
        write_private(tmp, data)
        os.replace(tmp, self.root / name)


class SmtpMailer:
    def __init__(self, host: str, port: int, sender: str, timeout: float = 10.0) -> None:
        self.host, self.port, self.sender, self.timeout = host, port, sender, timeout

    def send(self, mail: Mail) -> None:
        with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
            smtp.send_message(to_message(mail, self.sender))


def mailer_from(settings: Settings) -> Mailer:
    if settings.notifier == "smtp":
        return SmtpMailer(settings.smtp_host, settings.smtp_port, settings.smtp_sender)
    if settings.notifier == "ses":
        from shared.mail_ses import SesMailer

        return SesMailer(settings)
    return FileMailer(settings.data_dir / "mail", settings.smtp_sender)
