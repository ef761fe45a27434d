"""Settings for every process, read once from the environment (prefix ``ATENDE_``)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ATENDE_", extra="ignore")

    data_dir: Path = Path("var")
    # "memory://" is the in-process broker; redis://, amqp:// and sqs:// are real ones.
    broker_url: str = "memory://"
    table_backend: Literal["sqlite", "dynamodb", "postgres"] = "sqlite"
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
    max_json_bytes: int = 64 * 1024
    max_file_bytes: int = 10 * 1024 * 1024
    max_files_per_post: int = 5

    # Delivery: retries before a message is dead-lettered, and how often the outbox sweeps.
    max_retries: int = 5
    min_backoff_ms: int = 200
    max_backoff_ms: int = 30_000
    outbox_sweep_seconds: float = 2.0
    # An in-process delivery not acknowledged by its consumer within this time is re-sent.
    outbox_redeliver_seconds: float = 30.0
    worker_threads: int = 4
    # Threads of the WSGI server. Requests are CPU-bound (the store is in process, and the
    # broker is left to the outbox's dispatcher threads), so threads only take turns on the
    # GIL, and each hand-over costs context switches: under 8 client connections the panel
    # served 2,000 requests/s with 8 threads, 2,900 with 2 and 3,650 with 1. One is enough:
    # waitress reads request bodies and writes responses on its own I/O thread, so a slow
    # client or a large upload does not hold it. A post that waits on the store's write
    # lock does (follow-up posts: 650/s with 2 threads, 570 with 1).
    http_threads: int = 1
    # Extra Dramatiq middleware, "module:Class" each, added to every process's broker
    # (e.g. metrics; the fault suite's chaos injector).
    broker_middleware: list[str] = Field(default_factory=list)

    # SMTP notifier.
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 25
    smtp_sender: str = "atende@localhost"

    # Meetings.
    jitsi_base_url: str = "https://meet.jit.si"
    jitsi_app_id: str | None = None
    jitsi_app_secret: str | None = None
    reminder_minutes: int = 30
    # HMAC key of guest invite tokens; None falls back to the dev secret. Set it (the same
    # in every process) wherever the dev secret is not shared, e.g. on AWS.
    invite_secret: str | None = None
    scheduler_tick_seconds: float = 15.0

    # PostgreSQL (table_backend "postgres"): a libpq URL, e.g.
    # postgresql://atende:secret@db.example:5432/atende. Each process keeps a pool of
    # between min and max connections (an HTTP process needs its threads' and its outbox
    # dispatchers' worth; a worker its worker threads' and its dispatchers'). A process
    # applies missing schema migrations on start unless database_migrate is false (a
    # runtime role without DDL rights): then `atende ops create` applies them.
    database_url: str | None = None
    database_pool_min: int = 1
    database_pool_max: int = 8
    database_migrate: bool = True

    # Blobs on an S3-compatible store of one's own (blob_backend "s3"; MinIO, Ceph RGW,
    # SeaweedFS...): its endpoint URL, addressed path-style; keys from the usual
    # AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY. Unset, S3 itself (or aws_endpoint_url).
    # blob_encryption asks the store to encrypt each object (SSE-S3); a store that cannot
    # (MinIO without a KMS) refuses such writes, and is then encrypted at rest by its disks.
    blob_endpoint_url: str | None = None
    blob_encryption: bool = True

    # AWS.
    aws_region: str = "us-east-1"
    aws_endpoint_url: str | None = None
    table_prefix: str = "atende"
    bucket: str = "atende-blobs"
    ses_sender: str = "atende@example.gov.br"

    def path(self, *parts: str) -> Path:
        p = self.data_dir.joinpath(*parts)
        p.parent.mkdir(parents=True, exist_ok=True)
        return p
