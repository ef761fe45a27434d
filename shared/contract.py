"""What a service declares about itself, as data: its HTTP operations, the events it
publishes and consumes, its jobs. The bootstrap builds the topology, the gateway's routing
and the OpenAPI document from these declarations, so the kernel never names a service."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel

from shared.errors import DomainError
from shared.messages import Event

# An event type in a declaration: its name (a kernel event in shared/messages.py), or the
# class that is its schema (a service's own event, or a consumer's reader model of one).
EventRef = str | type[Event]


def type_name(ref: EventRef) -> str:
    return ref if isinstance(ref, str) else ref.__name__


# A problem code in a declaration: a kernel code by name (shared/openapi.py lists them), or
# a service's own error class, which carries its code, status and meaning.
ErrorRef = str | type[DomainError]


def code_of(ref: ErrorRef) -> str:
    return ref if isinstance(ref, str) else ref.code


@dataclass(frozen=True)
class Query:
    """A query parameter a route takes: its JSON schema as the route checks it (an array
    is a repeatable parameter), what it means, and whether it must be given. The service
    that reads it declares it; the OpenAPI document shows what is declared, nothing more."""

    name: str
    description: str
    schema: Mapping[str, Any] = field(default_factory=lambda: {"type": "string"}, hash=False)
    required: bool = False


# The kernel's paging (shared.http.page_params), for any list route.
PAGE = (
    Query("limit", "page size",
          {"type": "integer", "minimum": 1, "maximum": 100, "default": 20}),
    Query("cursor", "next_cursor of the previous page"),
)


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
    query: tuple[Query, ...] = ()
    binary: bool = False  # the response is a file
    description: str = ""
    # Problem codes this route answers beyond those its shape implies (401 with a bearer
    # token, 404 with a path id, 400/413/415/422 with a body, 422 with a query, 409
    # idempotency_key_reused on a POST): e.g. ("forbidden", "invalid_transition"), or a
    # service's own error class.
    errors: tuple[ErrorRef, ...] = ()
    required_parts: tuple[str, ...] = ()  # multipart parts that must be present
    example: Any = field(default=None, compare=False, hash=False)  # a request body
    tag: str = ""  # the service's name when empty

    def __post_init__(self) -> None:
        names = [q.name for q in self.query]
        if len(set(names)) != len(names):
            raise ValueError(f"{self.method} {self.path}: a query parameter declared twice")
        for ref in self.errors:
            if not isinstance(ref, str) and not ref.meaning:
                raise ValueError(f"{self.method} {self.path}: {ref.__name__} says not what "
                                 "its code means (meaning)")

    @property
    def query_names(self) -> frozenset[str]:
        return frozenset(q.name for q in self.query)

    @property
    def error_codes(self) -> tuple[str, ...]:
        """The problem codes of ``errors``, by name."""
        return tuple(code_of(r) for r in self.errors)


_QUEUE_NAME = re.compile(r"[a-z][a-z0-9]{0,19}")


@dataclass(frozen=True)
class Job:
    """A job a service sends itself through the outbox, by its actor's name. With a
    ``queue``, the job has a queue of its own ("<service>-<queue>", with its own retries
    and dead letters), consumed by worker threads of its own (``ATENDE_IO_THREADS``): a
    job that waits on another server (a mail's SMTP or SES) then never holds a thread the
    service's event deliveries need. Without, it shares the service's event queue."""

    actor: str
    queue: str = ""

    def __post_init__(self) -> None:
        if self.queue and (self.queue == "events" or not _QUEUE_NAME.fullmatch(self.queue)):
            raise ValueError(f"{self.actor}: its queue {self.queue!r} must be a short "
                             "lowercase word other than 'events'")


@dataclass(frozen=True)
class Contract:
    """A service's declaration. ``consumes`` are the event types delivered to its queue;
    ``jobs`` the actors it sends itself through the outbox (on its event queue, or a
    ``Job`` on a queue of its own).

    An event is named by its type name or given as its schema: the publisher's class in
    ``publishes``; in ``consumes``, a model in the consumer's own folder with the same
    name and the fields it reads (a service imports no other).

    ``json_pages`` names the attributes of its table's items that its list routes answer
    as JSON pages (``Table.query_json``): a table adapter may keep each apart, to join a
    page without reading the items whole."""

    name: str
    operations: tuple[Operation, ...]
    publishes: tuple[EventRef, ...] = ()
    consumes: tuple[EventRef, ...] = ()
    jobs: tuple[str | Job, ...] = ()
    json_pages: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        actors = [j.actor if isinstance(j, Job) else j for j in self.jobs]
        if len(set(actors)) != len(actors):
            raise ValueError(f"{self.name}: a job declared twice in {actors}")
        for ref in (*self.publishes, *self.consumes):
            if not (isinstance(ref, str) or (isinstance(ref, type) and issubclass(ref, Event))):
                raise TypeError(f"{self.name}: {ref!r} is not an event schema")
        for refs in (self.publishes, self.consumes):
            names = [type_name(r) for r in refs]
            if len(set(names)) != len(names):
                raise ValueError(f"{self.name}: an event type declared twice in {names}")

    @property
    def published(self) -> tuple[str, ...]:
        """The type names of the events it publishes."""
        return tuple(type_name(r) for r in self.publishes)

    @property
    def consumed(self) -> tuple[str, ...]:
        """The type names of the events delivered to its queue."""
        return tuple(type_name(r) for r in self.consumes)

    @property
    def own_queues(self) -> dict[str, str]:
        """The jobs that have a queue of their own: actor name -> the queue's short name."""
        return {j.actor: j.queue for j in self.jobs if isinstance(j, Job) and j.queue}

    @property
    def schemas(self) -> dict[str, type[Event]]:
        """The service's own event models by type name, which its consumer reads a
        delivery with before the kernel's: a reader model it consumes wins over a schema
        it publishes."""
        return {r.__name__: r for r in (*self.publishes, *self.consumes)
                if not isinstance(r, str)}
