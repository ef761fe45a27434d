"""The data directory holds citizens' data (the store, documents, mails) and the dev signing
secret: only its owner may read it, whatever the process's umask. Directories are 0700 and
files 0600 from the moment they exist, never chmod-ed after being created wider."""

from __future__ import annotations

import contextlib
import os
import stat
from pathlib import Path

DIR_MODE = 0o700
FILE_MODE = 0o600


def private_dir(path: Path) -> Path:
    """``path`` and any missing parents made 0700 (mkdir's mode is only narrowed by the
    umask, never widened); an existing directory loses its group and other bits."""
    missing: list[Path] = []
    p = path
    while not p.exists():
        missing.append(p)
        if p.parent == p:
            break
        p = p.parent
    for d in reversed(missing):
        with contextlib.suppress(FileExistsError):  # made meanwhile by another process
            d.mkdir(mode=DIR_MODE)
    _narrow(path)
    return path


def _narrow(path: Path) -> None:
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        path.chmod(mode & ~0o077)


def open_private(path: Path, flags: int = os.O_WRONLY | os.O_CREAT | os.O_TRUNC) -> int:
    """A file descriptor on ``path``, created 0600 if it does not exist."""
    return os.open(path, flags | getattr(os, "O_CLOEXEC", 0), FILE_MODE)


def write_private(path: Path, data: bytes, *, sync: bool = False) -> None:
    """Write ``data`` to ``path`` (created 0600) and close it."""
    fd = open_private(path)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
        if sync:
            os.fsync(fd)
    finally:
        os.close(fd)


def ensure_private_file(path: Path) -> None:
    """``path`` exists and only its owner may read it: created empty with 0600, or an
    existing file's group and other bits removed (a store made by an older version)."""
    os.close(open_private(path, os.O_RDWR | os.O_CREAT))
    _narrow(path)
