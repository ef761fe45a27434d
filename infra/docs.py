"""``GET /docs``: an interactive reference of the merged OpenAPI document (Swagger UI), its
assets served from the package itself (infra/docs_assets), not from a CDN."""

from __future__ import annotations

from pathlib import Path

ASSETS = Path(__file__).with_name("docs_assets")
_TYPES = {".js": "application/javascript; charset=utf-8", ".css": "text/css; charset=utf-8"}
# Strict: the page loads only what the platform serves (the inline start-up script is
# pinned by its hash in the header built below).
_SCRIPT = """window.onload = function () {
  window.ui = SwaggerUIBundle({url: "/openapi.json", dom_id: "#swagger-ui",
    deepLinking: true, tryItOutEnabled: false, persistAuthorization: false});
};"""

PAGE = f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Atende API</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="stylesheet" href="/docs/assets/swagger-ui.css">
</head>
<body>
<div id="swagger-ui"></div>
<script src="/docs/assets/swagger-ui-bundle.js"></script>
<script>{_SCRIPT}</script>
</body>
</html>
""".encode()


def _csp() -> str:
    import base64
    import hashlib

    digest = base64.b64encode(hashlib.sha256(_SCRIPT.encode()).digest()).decode()
    return (f"default-src 'self'; script-src 'self' 'sha256-{digest}'; "
            "style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; "
            "frame-ancestors 'none'")


CSP = _csp()


def asset(name: str) -> tuple[bytes, str] | None:
    """(bytes, content type) of one of the page's assets, or None: only the files of the
    assets folder, by their bare name."""
    suffix = Path(name).suffix
    if "/" in name or name.startswith(".") or suffix not in _TYPES:
        return None
    path = ASSETS / name
    if not path.is_file():
        return None
    return path.read_bytes(), _TYPES[suffix]
