"""Settings for every process, read once from the environment (prefix ``ATENDE_``)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

BROKER_SCHEMES = ("memory", "redis", "rediss", "amqp", "amqps", "sqs")
# What an operator is shown for a setting whose default is no example of a good value.
_EXAMPLES = {"broker_url": "redis://127.0.0.1:6379/0", "jwks_url":
             "https://idp.example.gov.br/.well-known/jwks.json"}


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ATENDE_", extra="ignore")

    data_dir: Path = Path("var")
    # "memory://" is the in-process broker; redis://, amqp:// and sqs:// are real ones.
    broker_url: str = "memory://"
    table_backend: Literal["sqlite", "dynamodb"] = "sqlite"
    blob_backend: Literal["fs", "s3"] = "fs"
    notifier: Literal["files", "smtp", "ses"] = "files"
    environment: str = "dev"

    # Identity: the embedded default signs with a per-data-dir HS256 secret; production
    # verifies the identity provider's RS256/ES256 tokens from its JWKS.
    jwt_secret: str | None = None
    jwks_url: str | None = None
    jwt_algorithms: list[str] = Field(default_factory=lambda: ["RS256", "ES256"])
    jwt_issuer: str = "atende-dev"
    jwt_audience: str = "atende"
    jwt_leeway_seconds: int = 30

    # Caps on what a client may send.
    max_json_bytes: int = Field(64 * 1024, ge=1)
    max_file_bytes: int = Field(10 * 1024 * 1024, ge=1)
    max_files_per_post: int = Field(5, ge=1)

    # Delivery: retries before a message is dead-lettered, and how often the outbox sweeps.
    max_retries: int = Field(5, ge=0)
    min_backoff_ms: int = 200
    max_backoff_ms: int = 30_000
    outbox_sweep_seconds: float = Field(2.0, gt=0)
    # An in-process delivery not acknowledged by its consumer within this time is re-sent.
    outbox_redeliver_seconds: float = Field(30.0, gt=0)
    worker_threads: int = Field(4, ge=0)  # 0: messages wait (crash-recovery tests)
    # How long a command on a request waits for its service's view of the request to catch
    # up with a change the client has already seen (shared.freshness).
    view_wait_seconds: float = Field(2.0, ge=0)
    # /health/ready fails when an outbox entry has waited longer than this to go out.
    ready_outbox_lag_seconds: float = 60.0
    # A failure that recurs (a broker down) is logged at most once per this many seconds.
    log_repeat_seconds: float = 30.0
    # The worker and scheduler processes serve /metrics and /health/ready on this port
    # (0: not at all; several workers on one host each need their own).
    metrics_port: int = Field(0, ge=0, le=65535)
    # Threads of the WSGI server. Requests are CPU-bound (the store is in process, and the
    # broker is left to the outbox's dispatcher threads), so threads only take turns on the
    # GIL, and each hand-over costs context switches: under 8 client connections the panel
    # served 2,000 requests/s with 8 threads, 2,900 with 2 and 3,650 with 1. One is enough:
    # waitress reads request bodies and writes responses on its own I/O thread, so a slow
    # client or a large upload does not hold it. A post that waits on the store's write
    # lock does (follow-up posts: 650/s with 2 threads, 570 with 1).
    http_threads: int = Field(1, ge=1)
    # Extra Dramatiq middleware, "module:Class" each, added to every process's broker
    # (e.g. metrics; the fault suite's chaos injector).
    broker_middleware: list[str] = Field(default_factory=list)

    # SMTP notifier.
    smtp_host: str = "127.0.0.1"
    smtp_port: int = Field(25, ge=1, le=65535)
    smtp_sender: str = "atende@localhost"

    # Meetings.
    jitsi_base_url: str = "https://meet.jit.si"
    jitsi_app_id: str | None = None
    jitsi_app_secret: str | None = None
    reminder_minutes: int = Field(30, ge=1)
    # HMAC key of guest invite tokens; None falls back to the dev secret. Set it (the same
    # in every process) wherever the dev secret is not shared, e.g. on AWS.
    invite_secret: str | None = None
    scheduler_tick_seconds: float = Field(15.0, gt=0)

    # AWS.
    aws_region: str = "us-east-1"
    aws_endpoint_url: str | None = None
    table_prefix: str = "atende"
    bucket: str = "atende-blobs"
    ses_sender: str = "atende@example.gov.br"

    @field_validator("broker_url")
    @classmethod
    def _known_broker(cls, url: str) -> str:
        scheme = url.split("://", 1)[0] if "://" in url else ""
        if scheme not in BROKER_SCHEMES:
            raise ValueError(
                f"unsupported broker {scheme or url!r}: use memory://, redis://, rediss://, "
                f"amqp://, amqps:// or sqs://")
        return url

    def path(self, *parts: str) -> Path:
        p = self.data_dir.joinpath(*parts)
        p.parent.mkdir(parents=True, exist_ok=True)
        return p


def problem_line(exc: ValidationError) -> str:
    """One line for an operator: the environment variable, what is wrong with its value,
    and an example of a good one (the first problem, if there are several)."""
    err = exc.errors(include_url=False)[0]
    name = str(err["loc"][0]) if err["loc"] else ""
    field = Settings.model_fields.get(name)
    example = _EXAMPLES.get(name, field.default if field is not None else None)
    var = f"ATENDE_{name.upper()}"
    given = err.get("input")
    if isinstance(given, str) and "://" in given and "@" in given:  # no password on screen
        scheme, _, rest = given.partition("://")
        given = f"{scheme}://***@{rest.rsplit('@', 1)[1]}"
    message = str(err["msg"]).removeprefix("Value error, ")
    line = f"{var}={given!s}: {message}" if isinstance(given, str | int | float) \
        else f"{var}: {message}"
    if example is not None and not isinstance(example, list | dict):
        line += f" (for example {var}={example})"
    return line
