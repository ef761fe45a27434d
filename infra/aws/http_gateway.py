"""Lambda entry point: GET /health and the merged GET /openapi.json, as the local gateway
serves them. It loads the services' route tables, not their platforms: no AWS client."""

from __future__ import annotations

from typing import Any

from infra.aws.http import lazy_handler


def _gateway() -> Any:
    from infra.gateway import Gateway, platform_routes
    from infra.services import SERVICES, contract
    from shared.openapi import document
    from shared.settings import Settings

    def documents() -> list[dict[str, Any]]:
        return [document(name, list(contract(name).operations)) for name in SERVICES]

    return Gateway({}, platform_routes(), documents, Settings().max_body_bytes)


handler = lazy_handler(_gateway)
