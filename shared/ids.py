"""Opaque, roughly time-ordered ids."""

from __future__ import annotations

import os
import time

_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"
# Two characters per 10 bits: 13 lookups instead of 26 divisions, on every request's path.
_PAIRS = [a + b for a in _ALPHABET for b in _ALPHABET]


def new_id() -> str:
    # 48 bits of milliseconds then 80 random bits, as 26 lowercase base32 chars: sortable
    # by creation and unguessable enough to be opaque.
    value = (int(time.time() * 1000) << 80) | int.from_bytes(os.urandom(10), "big")
    return "".join([_PAIRS[(value >> shift) & 1023] for shift in range(120, -1, -10)])
