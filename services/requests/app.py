"""The requests service (being built)."""

from __future__ import annotations

import falcon

from shared.http import ServiceContext, create_app
from shared.service import ServiceDef


def build_app(ctx: ServiceContext) -> falcon.App:
    return create_app(ctx, {}, [], title="Atende requests")


SERVICE = ServiceDef(name="requests", operations=[], create_app=build_app)
