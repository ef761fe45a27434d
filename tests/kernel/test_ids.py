"""Ids: opaque, ordered by creation, never repeated (across threads and a fork)."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable

from shared.ids import new_id, sequence_id


def test_ids_are_26_base32_chars_ordered_by_creation() -> None:
    first = new_id()
    time.sleep(0.002)
    second = new_id()
    assert len(first) == len(second) == 26
    assert set(first + second) <= set("0123456789abcdefghjkmnpqrstvwxyz")
    assert first < second


def _from_threads(make: Callable[[], str], threads: int, each: int) -> list[str]:
    seen: list[list[str]] = [[] for _ in range(threads)]

    def run(out: list[str]) -> None:
        out.extend(make() for _ in range(each))

    pool = [threading.Thread(target=run, args=(out,)) for out in seen]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    return [i for out in seen for i in out]


def test_ids_never_repeat_across_threads_and_batches() -> None:
    ids = _from_threads(new_id, 8, 2_000)  # several batches of random bytes each
    assert len(set(ids)) == len(ids) == 16_000
    assert len({i[10:] for i in ids}) == len(ids)  # the random part alone is unique too


def _in_a_child(make: Callable[[], str]) -> list[str]:
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: report its next ids, then leave at once
        os.write(write, " ".join(make() for _ in range(5)).encode())
        os._exit(0)
    os.close(write)
    os.waitpid(pid, 0)
    child = os.read(read, 4096).decode().split()
    os.close(read)
    return child


def test_a_forked_child_does_not_repeat_its_parents_next_ids() -> None:
    new_id()  # the parent holds a batch of random bytes
    child = _in_a_child(lambda: new_id()[10:])
    parent = [new_id()[10:] for _ in range(5)]
    assert len(child) == 5 and not set(child) & set(parent)


def test_sequence_ids_never_repeat_across_threads_or_a_fork() -> None:
    ids = _from_threads(sequence_id, 4, 5_000)
    assert len(set(ids)) == len(ids) == 20_000
    child = _in_a_child(sequence_id)  # same counter values, another prefix
    assert len(child) == 5 and not set(child) & {*ids, *(sequence_id() for _ in range(5))}
