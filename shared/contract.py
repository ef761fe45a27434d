"""What a service declares about itself, as data: its HTTP operations, the events it
publishes and consumes, its jobs. The bootstrap builds the topology, the gateway's routing
and the OpenAPI document from these declarations, so the kernel never names a service."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel


@dataclass(frozen=True)
class Operation:
    """One route of a service, as the gateway, the OpenAPI document and the auth tests
    see it."""

    method: str
    path: str
    summary: str
    auth: str = "bearer"  # "bearer", "public" or "guest" (invite token in the body)
    body: type[BaseModel] | None = None
    multipart: tuple[str, ...] = ()  # field names of a multipart alternative
    response: type[BaseModel] | None = None
    status: int = 200
    query: tuple[str, ...] = ()
    binary: bool = False  # the response is a file
    description: str = ""
    # Problem codes this route answers beyond those its shape implies (401 with a bearer
    # token, 404 with a path id, 400/413/415/422 with a body, 422 with a query, 409
    # idempotency_key_reused on a POST): e.g. ("forbidden", "invalid_transition").
    errors: tuple[str, ...] = ()
    required_parts: tuple[str, ...] = ()  # multipart parts that must be present
    required_query: tuple[str, ...] = ()
    example: Any = field(default=None, compare=False, hash=False)  # a request body
    tag: str = ""  # the service's name when empty


@dataclass(frozen=True)
class Contract:
    """A service's declaration. ``consumes`` are the event types delivered to its queue;
    ``jobs`` the actors it sends itself through the outbox (on its own queue)."""

    name: str
    operations: tuple[Operation, ...]
    publishes: tuple[str, ...] = ()
    consumes: tuple[str, ...] = ()
    jobs: tuple[str, ...] = ()
