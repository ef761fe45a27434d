"""boto3 clients for the AWS adapters, built on first use from settings (never at import
time). One session per process: it caches the service models, which a Lambda cold start
would otherwise parse again for every client."""

from __future__ import annotations

import threading
from typing import Any

from shared.settings import Settings

_lock = threading.Lock()
_session: Any = None


def client(settings: Settings, service: str, **config: Any) -> Any:
    return _make("client", settings, service, config)


def resource(settings: Settings, service: str, **config: Any) -> Any:
    """A boto3 resource (whose client shares the session's loaded models)."""
    return _make("resource", settings, service, config)


def _make(kind: str, settings: Settings, service: str, config: dict[str, Any]) -> Any:
    global _session
    import boto3
    from botocore.config import Config

    with _lock:  # boto3 sessions are not thread-safe; the clients they make are
        if _session is None:
            _session = boto3.session.Session()
        return getattr(_session, kind)(
            service, region_name=settings.aws_region, endpoint_url=settings.aws_endpoint_url,
            config=Config(retries={"mode": "standard", "max_attempts": 5},
                          max_pool_connections=32, **config))
