"""Opaque, roughly time-ordered ids."""

from __future__ import annotations

import os
import time


def new_id() -> str:
    # 48 bits of milliseconds then 80 random bits, as 26 lowercase base32 chars: sortable
    # by creation and unguessable enough to be opaque.
    value = (int(time.time() * 1000) << 80) | int.from_bytes(os.urandom(10), "big")
    alphabet = "0123456789abcdefghjkmnpqrstvwxyz"
    out = []
    for _ in range(26):
        value, rem = divmod(value, 32)
        out.append(alphabet[rem])
    return "".join(reversed(out))
