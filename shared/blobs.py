"""The blob port and its filesystem adapter. Keys are generated here, never taken from a
client, so a file name can never become a path."""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from shared.datadir import private_dir

if TYPE_CHECKING:
    from shared.settings import Settings

_KEY = re.compile(r"^[0-9a-f]{64}$")


class Blobs(Protocol):
    def put(self, data: bytes, content_type: str) -> str:
        """Store the bytes; return their key (the SHA-256 of the content)."""
        ...

    def get(self, key: str) -> bytes: ...


class FileBlobs:
    """Content-addressed files under a directory, written atomically."""

    def __init__(self, root: Path) -> None:
        self.root = private_dir(root)

    def _path(self, key: str) -> Path:
        if not _KEY.match(key):
            raise KeyError(key)
        return self.root / key[:2] / key

    def put(self, data: bytes, content_type: str) -> str:
        key = hashlib.sha256(data).hexdigest()
        path = self._path(key)
        if not path.exists():
            if not path.parent.exists():
                private_dir(path.parent)
            # A name of its own per writer (mkstemp makes it 0600): two threads storing the
            # same bytes at once must not write into, or rename away, each other's file.
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{key[:8]}", suffix=".tmp")
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, path)
        return key

    def get(self, key: str) -> bytes:
        try:
            return self._path(key).read_bytes()
        except FileNotFoundError as exc:
            raise KeyError(key) from exc


def blobs_of(settings: Settings, service: str) -> Blobs:
    """A service's blobs on the configured backend."""
    if settings.blob_backend == "s3":
        from shared.blobs_s3 import S3Blobs

        return S3Blobs(settings, prefix=service)
    return FileBlobs(settings.data_dir / "blobs" / service)
