"""The mail writer: the message ``to_bytes`` writes reads, in any mail reader, as the one
the email package's ``EmailMessage`` would have written for the same mail (the transfer
encoding aside: a transport detail each chooses for itself)."""

from __future__ import annotations

import re
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest

from shared.mail import FileMailer, Mail, to_bytes

LONG = "Ana enviou uma nova mensagem na solicitação de Certidão de nascimento (protocolo 1)."
MAILS = [
    Mail("carla@example.com", "Nova mensagem de Ana", "Olá, Carla.\n\nTexto.\n",
         "<p>Olá, Carla.</p>\n<p>Texto.</p>"),
    Mail("carla@example.com", "Sua solicitação foi aprovada", LONG + "\n" + LONG, None),
    Mail("a@b.com", "Nova mensagem de João da Silva Conceição, " + "e mais " * 12,
         "Linha 1\r\nBcc: evil@example.com\rX\n" + "é" * 200 + "\n \t \n", None),
    Mail("a@b.com", "Aviso " * 20, "x" * 100 + " \n=\n.\nFrom x\n", "<p>" + "ç" * 90 + "</p>"),
    Mail("a@b.com", "s", "", None),
    Mail("a@b.com", "s", "no line break at the end", "<b>none here either</b>"),
]
SENDERS = ["atende@localhost", "Atende Prefeitura <atende@pref.gov.br>", "Atendê <a@b.com>"]


def _email_package(mail: Mail, sender: str) -> bytes:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = sender, mail.to, mail.subject
    msg.set_content(mail.text)
    if mail.html:
        msg.add_alternative(mail.html, subtype="html")
    return bytes(msg)


def _read(data: bytes) -> tuple[dict[str, str], list[tuple[str, str]], list[Any]]:
    msg = message_from_bytes(data, policy=policy.default)
    headers = {k: re.sub(r"boundary=.*", "", str(v)) for k, v in msg.items()
               if k not in ("Date", "Message-ID", "Content-Transfer-Encoding")}
    parts = [(p.get_content_type(), p.get_content()) for p in msg.walk()
             if not p.is_multipart()]
    return headers, parts, [p.defects for p in msg.walk()]


@pytest.mark.parametrize("sender", SENDERS)
@pytest.mark.parametrize("mail", MAILS)
def test_to_bytes_reads_as_the_email_package_would_have_written_it(mail: Mail,
                                                                  sender: str) -> None:
    written = to_bytes(mail, sender)
    assert _read(written) == _read(_email_package(mail, sender))
    msg = message_from_bytes(written, policy=policy.default)
    assert msg["Date"] and re.fullmatch(r"<\S+@atende\.local>", str(msg["Message-ID"]))
    assert all(len(line) <= 998 for line in written.split(b"\n"))


@pytest.mark.parametrize("field", ["to", "subject"])
@pytest.mark.parametrize("bad", ["x\ny@example.com", "x\r\nBcc: evil@example.com"])
def test_no_header_takes_a_line_break(field: str, bad: str) -> None:
    values = {"to": "a@b.com", "subject": "s", field: bad}
    with pytest.raises(ValueError, match="linefeed or carriage return"):
        to_bytes(Mail(values["to"], values["subject"], "t"), "atende@localhost")


def test_the_file_mailer_builds_no_email_message(tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """Under its default policy an EmailMessage parsed every header again, given or made:
    a notification's mail job was mostly that."""
    expected = _read(_email_package(MAILS[0], "atende@localhost"))

    def refuse(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("an EmailMessage was built")

    monkeypatch.setattr("email.message.EmailMessage.__init__", refuse)
    FileMailer(tmp_path, "atende@localhost").send(MAILS[0])
    monkeypatch.undo()  # reading it back builds one
    [path] = tmp_path.glob("*.eml")
    assert _read(path.read_bytes()) == expected
