"""Each service as a plain WSGI app, for any WSGI server, built from ``ATENDE_*`` settings:

    waitress-serve --call 'infra.wsgi:requests'
    gunicorn 'infra.wsgi:followups()'

Factories, not module-level apps: importing this module builds no broker and no client.
A split deployment needs a real broker (``ATENDE_BROKER_URL``) with ``atende worker`` and
``atende scheduler`` beside it; on the in-process default nothing would consume events.
"""

from __future__ import annotations

from typing import Any

from shared.settings import Settings


def _checked(settings: Settings | None) -> Settings:
    """The settings, if they name an identity provider (or allow dev tokens on purpose);
    else the server stops with one line saying what to set."""
    from shared.identity import no_identity_provider

    settings = settings or Settings()
    refusal = no_identity_provider(settings, "infra.wsgi")
    if refusal:
        raise SystemExit(refusal)
    return settings


def service_app(name: str, settings: Settings | None = None) -> Any:
    from infra.bootstrap import build

    platform = build(_checked(settings), services=(name,))
    return platform.apps[name]


def gateway(settings: Settings | None = None) -> Any:
    """All four services behind the path router, as ``atende serve`` runs them."""
    from infra.bootstrap import build
    from infra.gateway import gateway_for

    return gateway_for(build(_checked(settings)))


def requests() -> Any:
    return service_app("requests")


def followups() -> Any:
    return service_app("followups")


def meetings() -> Any:
    return service_app("meetings")


def reviews() -> Any:
    return service_app("reviews")
