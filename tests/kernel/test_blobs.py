"""The filesystem blob store under concurrent writers."""

from __future__ import annotations

import threading
from pathlib import Path

from shared.blobs import FileBlobs


def test_two_threads_storing_the_same_bytes_both_succeed(tmp_path: Path) -> None:
    blobs = FileBlobs(tmp_path / "blobs")
    data = b"%PDF-1.4 the same bytes from many requests at once" * 2000
    start = threading.Barrier(8)
    keys: list[str] = []
    errors: list[BaseException] = []

    def store() -> None:
        start.wait()
        try:
            keys.append(blobs.put(data, "application/pdf"))
        except BaseException as exc:  # the test reports any failure of a writer
            errors.append(exc)

    threads = [threading.Thread(target=store) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(set(keys)) == 1
    assert blobs.get(keys[0]) == data
    assert not list((tmp_path / "blobs").rglob("*.tmp"))
