"""AWS clients for the adapters, built on first use from settings (never at import time).
One botocore session per process: it caches the service models, which a Lambda cold start
would otherwise parse again for every client.

Clients come from botocore itself: the adapters call only botocore's methods (S3's
presigned URLs included), and boto3 would load s3transfer and its machinery on every
function's first answer. boto3 is loaded only for a resource (dramatiq_sqs's SQS queue),
over the same session."""

from __future__ import annotations

import threading
from typing import Any

from shared.settings import Settings

_lock = threading.Lock()  # botocore sessions are not thread-safe; the clients they make are
_session: Any = None
_boto3: Any = None  # over _session: boto3 registers its handlers on that session, once


def client(settings: Settings, service: str, **config: Any) -> Any:
    with _lock:
        return _botocore().create_client(service, **_options(settings, config))


def resource(settings: Settings, service: str, **config: Any) -> Any:
    """A boto3 resource, over the process's one session (its loaded models)."""
    global _boto3
    import boto3

    with _lock:
        if _boto3 is None:
            _boto3 = boto3.session.Session(botocore_session=_botocore())
        return _boto3.resource(service, **_options(settings, config))


def _botocore() -> Any:
    global _session
    if _session is None:
        import botocore.session

        _session = botocore.session.get_session()
    return _session


def _options(settings: Settings, config: dict[str, Any]) -> dict[str, Any]:
    from botocore.config import Config

    return {"region_name": settings.aws_region, "endpoint_url": settings.aws_endpoint_url,
            "config": Config(retries={"mode": "standard", "max_attempts": 5},
                             max_pool_connections=32, **config)}
