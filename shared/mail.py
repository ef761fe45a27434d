"""The mail port and its adapters: RFC 5322 files under the data dir (the embedded
default), SMTP (standard library). SES arrives with the AWS adapters."""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from shared.datadir import private_dir, write_private
from shared.ids import new_id
from shared.settings import Settings

if TYPE_CHECKING:
    from email.charset import Charset
    from email.header import Header
    from email.mime.text import MIMEText

# The email package's modules are imported by what builds or sends a message, not with
# this module: the HTTP functions import it for ADDRESS and the mailer's type and send
# nothing on a read.

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


def to_bytes(mail: Mail, sender: str) -> bytes:
    """The mail as an RFC 5322 message: the text alone, or the text and the HTML as
    multipart/alternative, in UTF-8.

    Built with the email package's ``email.mime`` classes (its compat32 policy), not
    ``EmailMessage``: under the default policy every header it was given, and every one
    it made, was parsed again, several times over the cost of everything else a
    notification's mail job does."""
    from email.message import Message
    from email.mime.multipart import MIMEMultipart
    from email.utils import formatdate, make_msgid

    text = _part(mail.text, "plain")
    if mail.html:
        msg: Message = MIMEMultipart("alternative", None, [text, _part(mail.html, "html")])
    else:
        msg = text
    # After the parts: a multipart's headers come first in the message all the same.
    for name, value in (("From", sender), ("To", mail.to), ("Subject", mail.subject)):
        if "\r" in value or "\n" in value:  # no header injected through a value
            raise ValueError("Header values may not contain linefeed or carriage return "
                             "characters")
        # compat32 takes a Header as a value, which typeshed does not say.
        msg[name] = value if value.isascii() else _encoded(name, value)  # type: ignore[assignment]
    msg["Date"] = formatdate(localtime=False)
    msg["Message-ID"] = make_msgid(domain="atende.local")
    return msg.as_bytes()


@cache
def _utf8() -> Charset:
    from email.charset import QP, Charset

    utf8 = Charset("utf-8")
    utf8.body_encoding = QP  # readable in a mail file, unlike base64
    return utf8


def _part(body: str, subtype: str) -> MIMEText:
    """A text part, its lines ended as a mail's are (whatever the text used), the last too."""
    from email.mime.text import MIMEText

    lines = b"\n".join(body.encode().splitlines()).decode()
    return MIMEText(f"{lines}\n", subtype, _utf8())  # type: ignore[arg-type]


def _encoded(name: str, value: str) -> str | Header:
    """A header value beyond ASCII as encoded words; in an address, only the name."""
    from email.header import Header
    from email.utils import formataddr, parseaddr

    if name == "Subject":
        return Header(value, "utf-8", header_name=name)
    return formataddr(parseaddr(value), charset="utf-8")


class FileMailer:
    """One .eml file per message, written atomically, readable with any mail tool."""

    def __init__(self, root: Path, sender: str) -> None:
        self.root = private_dir(root)
        self.sender = sender

    def send(self, mail: Mail) -> None:
        data = to_bytes(mail, self.sender)
        name = f"{new_id()}.eml"
        tmp = self.root / f".{name}.tmp"
        write_private(tmp, data)
        os.replace(tmp, self.root / name)


class SmtpMailer:
    def __init__(self, host: str, port: int, sender: str, timeout: float = 10.0) -> None:
        self.host, self.port, self.sender, self.timeout = host, port, sender, timeout

    def send(self, mail: Mail) -> None:
        import smtplib
        from email.utils import parseaddr

        with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
            # SMTP's lines end in CRLF; smtplib leaves bytes as they are given.
            smtp.sendmail(parseaddr(self.sender)[1], [mail.to],
                          to_bytes(mail, self.sender).replace(b"\n", b"\r\n"))


def mailer_from(settings: Settings) -> Mailer:
    if settings.notifier == "smtp":
        return SmtpMailer(settings.smtp_host, settings.smtp_port, settings.smtp_sender)
    if settings.notifier == "ses":
        from shared.mail_ses import SesMailer

        return SesMailer(settings)
    return FileMailer(settings.data_dir / "mail", settings.smtp_sender)
