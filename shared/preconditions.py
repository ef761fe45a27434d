"""What an ``If-Match`` header asks of a command, parsed once at the HTTP edge so that the
handlers receive a value and never the header's syntax (``W/``, ``*``, lists)."""

from __future__ import annotations

from dataclasses import dataclass

from shared.errors import PreconditionFailed


@dataclass(frozen=True)
class Expected:
    """The versions of the resource a command may act on; ``any`` when none is named."""

    versions: frozenset[int] = frozenset()
    any: bool = True

    @classmethod
    def parse(cls, header: str | None) -> Expected:
        if header is None:
            return ANY
        tags = {t.strip().removeprefix("W/").strip('"') for t in header.split(",")}
        # Only tags as our ETags write them name a version: any other never matches.
        versions = frozenset(int(t) for t in tags if t.isdecimal() and str(int(t)) == t)
        return cls(versions, "*" in tags)

    def check(self, version: int) -> None:
        if not self.any and version not in self.versions:
            raise PreconditionFailed("the request changed since you read it")

    @property
    def newest(self) -> int | None:
        """The highest version named, the one a lagging view must reach; None if none."""
        return max(self.versions) if self.versions else None


ANY = Expected()
