"""The console's static files: the design system, its font, htmx and our own CSS and JS.

The npm packages are installed by ``npm ci`` from ``console/package-lock.json`` (``atende
assets``; ``atende dev`` and the tests run it when ``node_modules`` is missing), never
fetched by the browser from a third party. Only the files listed here are served, each at a
URL carrying a hash of its content, so a page always gets the version it was rendered
with and a browser may keep a file for a year.
"""

from __future__ import annotations

import gzip
import hashlib
import mimetypes
import re
import shutil
import subprocess
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import falcon

HERE = Path(__file__).parent
MODULES = HERE / "node_modules"
_FONTS = "@fontsource/raleway/files/raleway-latin-{}-normal.woff2"
# Served name -> file under node_modules (packages) or static/ (ours). The design
# system's type is Rawline, which no npm package ships; its stylesheet falls back to
# Raleway, which @fontsource ships under the SIL Open Font License.
PACKAGED = {
    "core.css": "@govbr-ds/core/dist/core.min.css",
    "favicon.ico": "@govbr-ds/core/dist/favicon.ico",
    "htmx.js": "htmx.org/dist/htmx.min.js",
    **{f"raleway-{w}.woff2": _FONTS.format(w) for w in (400, 600, 700)},
}
OURS = ("console.css", "console.js", "cpf.js")  # after the packages: they refer to them
_REFERENCE = re.compile(r"\{\{\s*([\w.-]+)\s*\}\}")
_TYPES = {"css": "text/css", "js": "text/javascript", "woff2": "font/woff2",
          "ico": "image/x-icon"}
YEAR = "public, max-age=31536000, immutable"


class AssetsMissing(RuntimeError):
    pass


def install(force: bool = False) -> None:
    """``npm ci`` in console/ unless every packaged file is already there."""
    if not force and all((MODULES / path).is_file() for path in PACKAGED.values()):
        return
    npm = shutil.which("npm")
    if npm is None:
        raise AssetsMissing("the console's assets need npm (Node.js): install it "
                            "(e.g. apt-get install npm) and run `atende assets`")
    done = subprocess.run([npm, "ci", "--no-audit", "--no-fund", "--ignore-scripts",
                           "--loglevel=error"], cwd=HERE, capture_output=True, text=True,
                          timeout=600, check=False)
    if done.returncode != 0:
        raise AssetsMissing(f"`npm ci` in {HERE} failed: {done.stderr.strip()[-500:]}")


@dataclass(frozen=True)
class Asset:
    url: str
    data: bytes
    content_type: str

    @cached_property
    def gzipped(self) -> bytes | None:
        """Compressed once, at the file's first request, for text (the design system's
        stylesheet is most of a first visit's bytes; at start-up, most of a function's first
        page); None for what is already compressed (fonts, images)."""
        if not _compressible(self.content_type):
            return None
        return gzip.compress(self.data, 9, mtime=0)


def _compressible(content_type: str) -> bool:
    return content_type.startswith(("text/", "image/svg")) or content_type.endswith(
        ("javascript", "json", "javascript; charset=utf-8", "json; charset=utf-8"))


class Assets:
    """Every served file, read once at start-up, by its hashed URL."""

    def __init__(self, prefix: str = "/console/static") -> None:
        self.prefix = prefix
        self.by_name: dict[str, Asset] = {}
        self.by_url: dict[str, Asset] = {}
        for name, path in PACKAGED.items():
            file = MODULES / path
            if not file.is_file():
                raise AssetsMissing(f"{file} is missing: run `atende assets`")
            self._add(name, file.read_bytes())
        for name in OURS:
            text = (HERE / "static" / name).read_text()
            self._add(name, _REFERENCE.sub(lambda m: self.url(m.group(1)), text).encode())

    def _add(self, name: str, data: bytes) -> None:
        stem, dot, ext = name.rpartition(".")
        digest = hashlib.sha256(data).hexdigest()[:12]
        url = f"{self.prefix}/{stem}.{digest}{dot}{ext}"
        ctype = _TYPES.get(ext) or mimetypes.guess_type(name)[0] or "application/octet-stream"
        if ctype.startswith("text/") or ctype.endswith("javascript"):
            ctype += "; charset=utf-8"
        asset = Asset(url, data, ctype)
        self.by_name[name] = self.by_url[url] = asset

    def url(self, name: str) -> str:
        return self.by_name[name].url


class StaticResource:
    def __init__(self, assets: Assets) -> None:
        self.assets = assets

    def on_get(self, req: falcon.Request, resp: falcon.Response, name: str) -> None:
        asset = self.assets.by_url.get(f"{self.assets.prefix}/{name}")
        if asset is None:
            raise falcon.HTTPNotFound()
        resp.content_type = asset.content_type
        resp.vary = ["Accept-Encoding"]
        if asset.gzipped is not None and "gzip" in (req.get_header("Accept-Encoding") or ""):
            resp.set_header("Content-Encoding", "gzip")
            resp.data = asset.gzipped
        else:
            resp.data = asset.data
        resp.cache_control = [YEAR]
        resp.set_header("X-Content-Type-Options", "nosniff")
