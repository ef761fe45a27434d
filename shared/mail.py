"""The mail port and its adapters: RFC 5322 files under the data dir (the embedded
default), SMTP (standard library). SES arrives with the AWS adapters."""

from __future__ import annotations

import base64
import binascii
import os
import random
import smtplib
import sys
from dataclasses import dataclass
from email import policy
from email.utils import formatdate, make_msgid, parseaddr
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


def to_bytes(mail: Mail, sender: str) -> bytes:
    """The mail as an RFC 5322 message: the headers, then the text alone or the text and
    HTML as multipart/alternative, UTF-8, as the email package's default policy writes
    them. Written here, not by ``EmailMessage``: that parsed every header it was given and
    then every header it had made, a few times over the cost of everything else a
    notification's mail job does."""
    head = [_header("From", sender), _header("To", mail.to), _header("Subject", mail.subject),
            f"Date: {formatdate(localtime=False)}\n",
            f"Message-ID: {make_msgid(domain='atende.local')}\n", "MIME-Version: 1.0\n"]
    text = _part("plain", mail.text)
    if not mail.html:
        return "".join(head).encode() + text
    html = _part("html", mail.html)
    boundary = _boundary(text, html)
    head.append(f'Content-Type: multipart/alternative;\n boundary="{boundary}"\n\n')
    # The line break before a delimiter is the delimiter's, not the part's.
    return b"".join(("".join(head).encode(), f"--{boundary}\n".encode(), text,
                     f"\n--{boundary}\n".encode(), html, f"\n--{boundary}--\n".encode()))


_POLICY = policy.default
_LINE = 78  # the default policy's max_line_length, past which it encodes a part's text


def _header(name: str, value: str) -> str:
    """One header field, folded. A plain short value is written as it is; any other goes
    through the email package (encoded words, an address's display name, folding)."""
    if "\r" in value or "\n" in value:  # as EmailMessage refuses them: no injected header
        raise ValueError("Header values may not contain linefeed or carriage return "
                         "characters")
    if len(name) + len(value) <= 76 and value.isascii() and value.isprintable():
        return f"{name}: {value}\n"
    folded: str = _POLICY.header_factory(name, value).fold(policy=_POLICY)
    return folded


def _part(subtype: str, body: str) -> bytes:
    """A text part's headers and body: 7bit or 8bit when every line fits in 78 octets,
    else quoted-printable or base64, the shorter (the email package's choices)."""
    lines = body.encode().splitlines()
    data = b"\n".join(lines) + b"\n"
    if max(map(len, lines), default=0) <= _LINE:
        cte = "7bit" if data.isascii() else "8bit"
    else:
        qp, b64 = binascii.b2a_qp(data, istext=True), base64.encodebytes(data)
        cte, data = ("quoted-printable", qp) if len(qp) <= len(b64) else ("base64", b64)
    return (f'Content-Type: text/{subtype}; charset="utf-8"\n'
            f"Content-Transfer-Encoding: {cte}\n\n").encode() + data


def _boundary(*parts: bytes) -> str:
    """A boundary found in no part (the email package's form)."""
    while True:
        boundary = f"{'=' * 15}{random.randrange(sys.maxsize):019d}=="
        if not any(boundary.encode() in part for part in parts):
            return boundary


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
