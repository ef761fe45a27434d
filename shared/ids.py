"""Opaque, roughly time-ordered ids."""

from __future__ import annotations

import itertools
import os
import threading
import time

_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"
# Two characters per 10 bits: 13 lookups instead of 26 divisions, on every command's path.
_PAIRS = [a + b for a in _ALPHABET for b in _ALPHABET]
_BATCH = 4096  # random bytes read at once: 409 ids


class _Entropy(threading.local):
    """os.urandom, read in batches, one batch per thread. Each read is a system call that
    lets go of the GIL, and under a threaded server every hand-over costs context switches:
    one per request made a request detail markedly dearer (docs/performance.md)."""

    def __init__(self) -> None:
        self.buf = b""
        self.at = 0

    def take(self, n: int) -> bytes:
        if self.at + n > len(self.buf):
            self.buf, self.at = os.urandom(_BATCH), 0
        self.at += n
        return self.buf[self.at - n:self.at]


_entropy = _Entropy()


class _Sequence:
    def __init__(self) -> None:
        self.prefix = new_id()[:16]  # this process's start, to the ms, and 32 random bits
        self.count = itertools.count()  # next() is atomic under the GIL


def _forget_after_fork() -> None:
    global _entropy, _sequence
    _entropy = _Entropy()  # a child must not hand out its parent's next ids
    _sequence = _Sequence()


os.register_at_fork(after_in_child=_forget_after_fork)


def new_id() -> str:
    # 48 bits of milliseconds then 80 random bits, as 26 lowercase base32 chars: sortable
    # by creation and unguessable enough to be opaque.
    value = (int(time.time() * 1000) << 80) | int.from_bytes(_entropy.take(10), "big")
    return "".join([_PAIRS[(value >> shift) & 1023] for shift in range(120, -1, -10)])


_sequence = _Sequence()


def uuid_text() -> str:
    """A random (version 4) UUID as text, as ``str(uuid.uuid4())`` but from the batched
    entropy: a broker message takes two, and uuid4 reads os.urandom for each."""
    raw = bytearray(_entropy.take(16))
    raw[6] = (raw[6] & 0x0F) | 0x40
    raw[8] = (raw[8] & 0x3F) | 0x80
    h = raw.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def sequence_id() -> str:
    """Unique but guessable: for what only needs telling apart, such as a request's
    correlation id. A per-process prefix and a counter: a fraction of new_id's cost, and
    it is on every request's path."""
    return f"{_sequence.prefix}{next(_sequence.count):08x}"
