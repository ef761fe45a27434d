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
    # Without a JWKS, only ``atende dev`` starts (on tokens signed with the dev secret);
    # ``serve``, ``worker`` and ``scheduler`` refuse unless this says it is on purpose.
    allow_dev_tokens: bool = False

    # Caps on what a client may send.
    max_json_bytes: int = 64 * 1024
    max_file_bytes: int = 10 * 1024 * 1024
    max_files_per_post: int = 5
    # Judging one file (docs/uploads.md): CPU and address space of the child process that
    # judges it, a wall-clock bound on it, what its PDF streams may inflate to, an image's
    # pixels, and how many files one process judges at once (more are 503, not queued).
    judge_cpu_seconds: int = 2
    judge_memory_mb: int = 384
    judge_wall_seconds: float = 8.0
    judge_inflated_mb: int = 50
    judge_max_pixels: int = 40_000_000
    judge_concurrency: int = 2

    # Delivery: retries before a message is dead-lettered, and how often the outbox sweeps.
    max_retries: int = 5
    min_backoff_ms: int = 200
    max_backoff_ms: int = 30_000
    outbox_sweep_seconds: float = 2.0
    # An in-process delivery not acknowledged by its consumer within this time is re-sent.
    outbox_redeliver_seconds: float = 30.0
    worker_threads: int = 4
    # Threads of the WSGI server. Requests are CPU-bound, so more threads mostly take turns
    # on the GIL; but a thread waiting on an upload's judge (a child process, for up to its
    # budget) holds no GIL and serves nobody, so there must be threads to spare beyond
    # ``judge_concurrency`` (docs/uploads.md). Waitress reads bodies and writes responses on
    # its own I/O thread, so a slow client does not hold one.
    http_threads: int = 4
    # The server's connections at once, and the seconds a connection may stay silent
    # (a stalled upload holds its buffers until then).
    http_connection_limit: int = 100
    http_channel_timeout: int = 30
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

    # AWS.
    aws_region: str = "us-east-1"
    aws_endpoint_url: str | None = None
    table_prefix: str = "atende"
    bucket: str = "atende-blobs"
    ses_sender: str = "atende@example.gov.br"

    @property
    def max_body_bytes(self) -> int:
        """The largest body any route accepts (a follow-up's files and fields): anything
        larger is refused from its Content-Length, before it is read."""
        return self.max_file_bytes * max(1, self.max_files_per_post) + self.max_json_bytes

    def path(self, *parts: str) -> Path:
        """A path under the data directory, whose directories are made owner-only."""
        from shared.datadir import private_dir

        p = self.data_dir.joinpath(*parts)
        private_dir(p.parent)
        return p
