"""Domain errors. Each carries its HTTP status and the API's problem code; the HTTP layer
maps them all in one place (``shared.http``)."""

from __future__ import annotations


class DomainError(Exception):
    status = 400
    code = "bad_request"
    title = "Bad request"
    # What the code tells a client, for the OpenAPI document: a service's own error sets it
    # (the kernel's codes are described in shared/openapi.py).
    meaning = ""

    def __init__(self, detail: str = "", errors: list[dict[str, str]] | None = None) -> None:
        super().__init__(detail or self.title)
        self.detail = detail or self.title
        self.errors = errors


class BadRequest(DomainError):
    status, code, title = 400, "bad_request", "Malformed request"


class Unauthorized(DomainError):
    status, code, title = 401, "unauthorized", "Authentication required"


class Forbidden(DomainError):
    status, code, title = 403, "forbidden", "Not allowed"


class AttendantNotEnabled(Forbidden):
    status, code, title = 403, "attendant_not_enabled", "Attendant not enabled"


class ConflictOfInterest(Forbidden):
    status, code, title = 403, "conflict_of_interest", "Conflict of interest"


class NotFound(DomainError):
    status, code, title = 404, "not_found", "Not found"


class InvalidTransition(DomainError):
    status, code, title = 409, "invalid_transition", "Not allowed in the current state"


class Conflict(DomainError):
    status, code, title = 409, "conflict", "Conflict"


class IdempotencyKeyReused(DomainError):
    status, code, title = 409, "idempotency_key_reused", "Idempotency key reused"


class PreconditionFailed(DomainError):
    status, code, title = 412, "precondition_failed", "Precondition failed"


class PayloadTooLarge(DomainError):
    status, code, title = 413, "payload_too_large", "Payload too large"


class UnsupportedMediaType(DomainError):
    status, code, title = 415, "unsupported_media_type", "Unsupported media type"


class ViewBehind(DomainError):
    """The service's view of a request has not caught up, within a bounded wait, with a
    version the client has already seen: a retry after ``retry_after`` seconds succeeds."""

    status, code, title = 409, "view_behind", "View behind"

    def __init__(self, detail: str = "", retry_after: int = 1) -> None:
        super().__init__(detail)
        self.retry_after = retry_after


class ValidationFailed(DomainError):
    status, code, title = 422, "validation", "Validation failed"

    @classmethod
    def field(cls, field: str, message: str) -> ValidationFailed:
        return cls(f"{field}: {message}", [{"field": field, "message": message}])


class ServiceBusy(DomainError):
    status, code, title = 503, "busy", "Busy"
