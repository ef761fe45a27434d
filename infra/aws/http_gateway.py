"""Lambda entry point: GET /health and the merged GET /openapi.json, as the local gateway
serves them. It loads the services' route tables, not their platforms: no AWS client."""

from __future__ import annotations

from typing import Any

from infra.aws.http import lazy_handler


def _gateway() -> Any:
    from infra.bootstrap import load_service
    from infra.gateway import Gateway
    from shared.openapi import document
    from shared.topology import SERVICES

    return Gateway({}, lambda: [document(name, list(load_service(name).operations))
                                for name in SERVICES])


handler = lazy_handler(_gateway)
