"""Screening of review comments: personal data and offensive words. Pure functions.

Personal data is found by shape *and* validity (check digits, Luhn, real area codes), so
that the numbers citizens ordinarily write (dates, protocol numbers, amounts, CEPs,
times, public 0800 lines) are not mistaken for it. Each finding is replaced by a
placeholder in the redacted text. Offensive words come from a list kept as data and are
matched after undoing the usual disguises (case, accents, digits for letters, stretched
letters, letters split by dots or dashes).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

FLAG_ORDER = ("cpf", "cnpj", "phone", "email", "card", "offensive")
PLACEHOLDERS = {"cpf": "[CPF]", "cnpj": "[CNPJ]", "phone": "[telefone]",
                "email": "[e-mail]", "card": "[cartão]"}
DATA_DIR = Path(__file__).parent / "data"

# Brazilian area codes (DDD) in use: a "phone" with any other prefix is some other number.
DDD = frozenset((
    11, 12, 13, 14, 15, 16, 17, 18, 19, 21, 22, 24, 27, 28, 31, 32, 33, 34, 35, 37, 38,
    41, 42, 43, 44, 45, 46, 47, 48, 49, 51, 53, 54, 55, 61, 62, 63, 64, 65, 66, 67, 68, 69,
    71, 73, 74, 75, 77, 79, 81, 82, 83, 84, 85, 86, 87, 88, 89, 91, 92, 93, 94, 95, 96, 97,
    98, 99))

# A number must stand alone: not glued to digits, nor continuing a date, amount or protocol.
_START = r"(?<![\w@])(?<!\d[.,/-])"
_END = r"(?![\w@])(?![.,/-]\d)"

EMAIL = re.compile(r"(?<![\w.+-])[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*"
                   r"\.[A-Za-z]{2,}(?![\w-])")
CARD = re.compile(_START + r"\d(?:[ .-]?\d){12,18}" + _END)
# Any of the separators people type between the groups, the same or mixed.
CNPJ = re.compile(_START + r"\d{2}[-._ ]?\d{3}[-._ ]?\d{3}[-._ /]?\d{4}[-._ ]?\d{2}" + _END)
CPF = re.compile(_START + r"\d{3}[-._ ]?\d{3}[-._ ]?\d{3}[-._ /]?\d{2}" + _END)
PHONE = re.compile(
    _START.replace(r"(?<![\w@])", r"(?<![\w@+(])")
    + r"(?P<cc>\+?55[ .-]?)?(?:(?P<ddd>\(0?\d{2}\)|0?\d{2})[ .-]?)?"
    r"(?P<a>9[ .]?\d{4}|\d{4})[ .-]?(?P<b>\d{4})" + _END
)
# Words that make a short, unformatted number read as a phone.
PHONE_WORDS = re.compile(r"(telefone|tel|fone|celular|cel|whats\w*|zap|wpp|ligar|liga|"
                         r"ligue|contato|numero|número)\W*$", re.IGNORECASE)


@dataclass(frozen=True)
class Screening:
    flags: tuple[str, ...]
    redacted: str

    @property
    def flagged(self) -> bool:
        return bool(self.flags)


def screen(text: str, lexicon: Lexicon | None = None) -> Screening:
    """The flags a comment earns, in a fixed order, and its text with personal data
    replaced by placeholders."""
    found: set[str] = set()
    redacted = text = canonical(text)
    for kind, pattern, valid in _DETECTORS:
        redacted = pattern.sub(_replacer(kind, valid, found), redacted)
    if (lexicon or offensive_words()).matches(text):
        found.add("offensive")
    return Screening(tuple(f for f in FLAG_ORDER if f in found), redacted)


def canonical(text: str) -> str:
    """The text as it reads: compatibility forms folded (NFKC: the full-width at sign and digits,
    circled and superscript digits become their plain forms) and invisible format
    characters (zero-width spaces and joiners, direction marks) dropped, so that no
    disguise of that kind hides personal data from the patterns. The published comment
    is this form, redacted."""
    text = unicodedata.normalize("NFKC", text)
    return "".join(c for c in text if unicodedata.category(c) != "Cf")


def _replacer(kind: str, valid: Callable[[re.Match[str]], bool], found: set[str]
              ) -> Callable[[re.Match[str]], str]:
    def replace(match: re.Match[str]) -> str:
        if not valid(match):
            return match.group(0)
        found.add(kind)
        return PLACEHOLDERS[kind]

    return replace


def _digits(s: str) -> str:
    return re.sub(r"\D", "", s)


def valid_cpf(value: str) -> bool:
    d = [int(c) for c in _digits(value)]
    if len(d) != 11 or len(set(d)) == 1:
        return False
    for n in (9, 10):
        total = sum(v * w for v, w in zip(d[:n], range(n + 1, 1, -1), strict=True))
        if (total * 10 % 11) % 10 != d[n]:
            return False
    return True


def valid_cnpj(value: str) -> bool:
    d = [int(c) for c in _digits(value)]
    if len(d) != 14 or len(set(d)) == 1:
        return False
    weights = [6, 5, 4, 3, 2, 9, 8, 7, 6, 5, 4, 3, 2]
    for n in (12, 13):
        total = sum(v * w for v, w in zip(d[:n], weights[13 - n:], strict=True))
        check = 0 if total % 11 < 2 else 11 - total % 11
        if check != d[n]:
            return False
    return True


def luhn(value: str) -> bool:
    digits = [int(c) for c in reversed(_digits(value))]
    total = 0
    for i, v in enumerate(digits):
        if i % 2:
            v = v * 2 - 9 if v > 4 else v * 2
        total += v
    return total % 10 == 0


def valid_card(value: str) -> bool:
    d = _digits(value)
    # Issuer prefixes of the cards used in Brazil (Visa, Master, Amex, Diners, Elo,
    # Hipercard, Discover): a long protocol number rarely starts like these *and* passes Luhn.
    issuer = d[0] in "3456" or 2221 <= int(d[:4]) <= 2720
    return 13 <= len(d) <= 19 and issuer and luhn(d)


def _valid_phone(match: re.Match[str]) -> bool:
    ddd = match.group("ddd")
    local = _digits(match.group("a")) + match.group("b")
    mobile = len(local) == 9
    if mobile and local[0] != "9":
        return False
    if not mobile and local[0] not in "2345":
        return False  # landlines start with 2-5; 0800 and service lines are not personal
    if ddd is not None:
        if int(_digits(ddd)) not in DDD:
            return False
        formatted = bool(match.group("cc")) or "(" in ddd or not match.group(0).isdigit()
        before = match.string[max(0, match.start() - 30):match.start()]
        # A bare run of 10 digits is as likely a protocol number as a landline.
        return formatted or mobile or bool(PHONE_WORDS.search(before))
    # No area code: a mobile written as one, or a landline introduced as a phone.
    before = match.string[max(0, match.start() - 30):match.start()]
    separated = not match.group(0).isdigit()
    return (separated and mobile) or bool(PHONE_WORDS.search(before))


_DETECTORS: tuple[tuple[str, re.Pattern[str], Callable[[re.Match[str]], bool]], ...] = (
    ("email", EMAIL, lambda m: True),
    ("card", CARD, lambda m: valid_card(m.group(0))),
    ("cnpj", CNPJ, lambda m: valid_cnpj(m.group(0))),
    ("cpf", CPF, lambda m: valid_cpf(m.group(0))),
    ("phone", PHONE, _valid_phone),
)


# --- offensive words ----------------------------------------------------------------

_LEET = str.maketrans({"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t",
                       "@": "a", "$": "s"})
_SPLIT_LETTERS = re.compile(r"\b(?:[a-z][.\-_*]){2,}[a-z]\b")


def normalise(text: str) -> str:
    """Lower case, no accents, digits and symbols read as the letters they stand for, and
    stretched letters ("meeerda") shrunk to one."""
    text = unicodedata.normalize("NFKD", text.casefold())
    text = "".join(c for c in text if not unicodedata.combining(c))
    text = text.translate(_LEET)
    text = _SPLIT_LETTERS.sub(lambda m: re.sub(r"[.\-_*]", "", m.group(0)), text)
    return re.sub(r"([a-z])\1+", r"\1", text)


@dataclass(frozen=True)
class Lexicon:
    words: frozenset[str]
    prefixes: tuple[str, ...]

    @classmethod
    def of(cls, entries: Iterable[str]) -> Lexicon:
        """Entries are words; one ending in ``*`` also matches every word it starts."""
        words: set[str] = set()
        prefixes: set[str] = set()
        for raw in entries:
            entry = raw.split("#", 1)[0].strip()
            if not entry:
                continue
            if entry.endswith("*"):
                prefixes.add(normalise(entry[:-1]))
            else:
                words.add(normalise(entry))
        return cls(frozenset(words), tuple(sorted(prefixes)))

    def matches(self, text: str) -> bool:
        for token in re.findall(r"[a-z]+", normalise(text)):
            if token in self.words or token.startswith(self.prefixes):
                return True
        return False


@lru_cache(maxsize=1)
def offensive_words() -> Lexicon:
    entries: list[str] = []
    for path in sorted(DATA_DIR.glob("*.txt")):
        entries += path.read_text(encoding="utf-8").splitlines()
    return Lexicon.of(entries)
