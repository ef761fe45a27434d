"""Checking a citizen's answers against the form the service published."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from shared.errors import ValidationFailed

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_PHONE = re.compile(r"^\+?[\d\s().-]+$")
_NUMBER = re.compile(r"^-?\d+(\.\d+)?$")
_CPF = re.compile(r"^(\d{11}|\d{3}\.\d{3}\.\d{3}-\d{2})$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
MAX_TEXT, MAX_LONG_TEXT = 1_000, 10_000


def cpf_is_valid(value: str) -> bool:
    if not _CPF.match(value):
        return False
    digits = [int(c) for c in value if c.isdigit()]
    if len(set(digits)) == 1:
        return False  # 000.000.000-00 and friends pass the arithmetic but are not CPFs
    for n in (9, 10):
        total = sum(d * w for d, w in zip(digits[:n], range(n + 1, 1, -1), strict=True))
        check = (total * 10) % 11 % 10
        if digits[n] != check:
            return False
    return True


def _problem(kind: str, value: Any, options: list[str] | None) -> str | None:
    """Why ``value`` is not a valid ``kind`` answer, or None if it is."""
    if kind == "number":
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            return "must be a number"
        return None if not isinstance(value, str) or _NUMBER.match(value) else "must be a number"
    if not isinstance(value, str):
        return "must be a string"
    if kind == "text":
        return "must be one line" if "\n" in value else (
            f"at most {MAX_TEXT} characters" if len(value) > MAX_TEXT else None)
    if kind == "long_text":
        return f"at most {MAX_LONG_TEXT} characters" if len(value) > MAX_LONG_TEXT else None
    if kind == "email":
        return None if len(value) <= 254 and _EMAIL.match(value) else "must be an e-mail address"
    if kind == "cpf":
        return None if cpf_is_valid(value) else "must be a valid CPF"
    if kind == "phone":
        digits = sum(c.isdigit() for c in value)
        ok = _PHONE.match(value) and 10 <= digits <= 13
        return None if ok else "must be a phone number with area code"
    if kind == "date":
        try:
            date.fromisoformat(value)
        except ValueError:
            return "must be a date (YYYY-MM-DD)"
        return None if _DATE.match(value) else "must be a date (YYYY-MM-DD)"
    if kind == "choice":
        return None if value in (options or []) else "must be one of the options"
    return "unknown field type"


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def check_answers(form: list[dict[str, Any]], answers: dict[str, Any]) -> dict[str, Any]:
    """The answers to keep (trimmed, blanks dropped), or 422 with an error per field."""
    fields = {f["key"]: f for f in form}
    errors: list[dict[str, str]] = []
    kept: dict[str, Any] = {}
    for key in answers:
        if key not in fields:
            errors.append({"field": f"answers.{key}", "message": "unknown field"})
    for key, spec in fields.items():
        value = answers.get(key)
        if isinstance(value, str):
            value = value.strip()
        if _blank(value):
            if spec.get("required"):
                errors.append({"field": f"answers.{key}", "message": "required"})
            continue
        problem = _problem(spec["type"], value, spec.get("options"))
        if problem:
            errors.append({"field": f"answers.{key}", "message": problem})
        else:
            kept[key] = value
    if errors:
        raise ValidationFailed("; ".join(f"{e['field']}: {e['message']}" for e in errors), errors)
    return kept
