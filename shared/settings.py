"""Settings for every process, read once from the environment (prefix ``ATENDE_``)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator
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

    # The web console (console/). The institution's name heads every screen.
    institution_name: str = "Atende"
    # OpenID Connect: the console is a confidential client of the state's identity
    # provider (authorization code + PKCE). Set all of issuer, client id, client secret and
    # redirect URL, or none (then only the development login exists, under `atende dev`).
    oidc_issuer: str | None = None
    oidc_client_id: str | None = None
    oidc_client_secret: str | None = None
    oidc_redirect_url: str | None = None  # https://host/console/oidc/callback
    oidc_scopes: str = "openid profile email"
    # Claims carrying the staff's roles, institution and unit. An ID token without roles
    # (gov.br's citizens) makes a citizen with a pseudonymous subject.
    oidc_roles_claim: str = "roles"
    oidc_org_claim: str = "org"
    oidc_unit_claim: str = "unit"
    oidc_name_claim: str = "name"
    oidc_timeout_seconds: float = 10.0
    # The address of a TLS-terminating reverse proxy in front of `atende serve`, whose
    # X-Forwarded-Proto the WSGI server then believes: the console serves its session
    # cookie over HTTPS only (plain HTTP from localhost aside).
    trusted_proxy: str | None = None
    # The login form with a pasted token (and demo buttons): set by `atende dev` only.
    console_dev_login: bool = False
    console_session_idle_minutes: int = Field(default=30, ge=1)
    console_session_absolute_minutes: int = Field(default=8 * 60, ge=1)
    # HMAC key of the citizens' pseudonymous subjects; None falls back to the dev secret.
    # Set it (the same everywhere, never changed) where the dev secret is not shared.
    console_subject_secret: str | None = None

    # AWS.
    aws_region: str = "us-east-1"
    aws_endpoint_url: str | None = None
    table_prefix: str = "atende"
    bucket: str = "atende-blobs"
    ses_sender: str = "atende@example.gov.br"

    @property
    def oidc_configured(self) -> bool:
        return bool(self.oidc_issuer)

    @model_validator(mode="after")
    def _one_login(self) -> Settings:
        oidc = [self.oidc_issuer, self.oidc_client_id, self.oidc_client_secret,
                self.oidc_redirect_url]
        if any(oidc) and not all(oidc):
            raise ValueError("set all of ATENDE_OIDC_ISSUER, ATENDE_OIDC_CLIENT_ID, "
                             "ATENDE_OIDC_CLIENT_SECRET and ATENDE_OIDC_REDIRECT_URL, or none")
        if self.console_dev_login and self.oidc_configured:
            raise ValueError("the development login cannot be enabled when an identity "
                             "provider is configured (ATENDE_OIDC_ISSUER): unset one")
        if (self.oidc_configured and self.table_backend == "dynamodb"
                and not self.console_subject_secret):
            # The fallback, the dev secret, is per machine: each Lambda container would
            # give a citizen another pseudonym.
            raise ValueError("set ATENDE_CONSOLE_SUBJECT_SECRET where the console logs in "
                             "with an identity provider on DynamoDB")
        if self.console_session_absolute_minutes < self.console_session_idle_minutes:
            raise ValueError("ATENDE_CONSOLE_SESSION_ABSOLUTE_MINUTES must be at least "
                             "ATENDE_CONSOLE_SESSION_IDLE_MINUTES")
        return self

    def path(self, *parts: str) -> Path:
        p = self.data_dir.joinpath(*parts)
        p.parent.mkdir(parents=True, exist_ok=True)
        return p
