"""Settings for every process, read once from the environment (prefix ``ATENDE_``)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from shared.model import empty_list

BROKER_SCHEMES = ("memory", "redis", "rediss", "amqp", "amqps", "sqs")
# What an operator is shown for a setting whose default is no example of a good value.
_EXAMPLES = {"broker_url": "redis://127.0.0.1:6379/0", "jwks_url":
             "https://idp.example.gov.br/.well-known/jwks.json"}


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
    # Without a JWKS, only ``atende dev`` starts (on tokens signed with the dev secret);
    # ``serve``, ``worker`` and ``scheduler`` refuse unless this says it is on purpose.
    allow_dev_tokens: bool = False

    # Caps on what a client may send.
    max_json_bytes: int = Field(64 * 1024, ge=1)
    max_file_bytes: int = Field(10 * 1024 * 1024, ge=1)
    max_files_per_post: int = Field(5, ge=1)
    # Judging one file (docs/uploads.md): CPU and address space of the child process that
    # judges it, a wall-clock bound on it, what its PDF streams may inflate to, an image's
    # pixels, and how many files one process judges at once (more are 503, not queued).
    judge_cpu_seconds: int = Field(2, ge=1)
    judge_memory_mb: int = 384
    judge_wall_seconds: float = 8.0
    judge_inflated_mb: int = 50
    judge_max_pixels: int = 40_000_000
    judge_concurrency: int = Field(2, ge=1)

    # Delivery: retries before a message is dead-lettered, and how often the outbox sweeps.
    max_retries: int = Field(5, ge=0)
    min_backoff_ms: int = 200
    max_backoff_ms: int = 30_000
    outbox_sweep_seconds: float = Field(2.0, gt=0)
    # An in-process delivery not acknowledged by its consumer within this time is re-sent.
    outbox_redeliver_seconds: float = Field(30.0, gt=0)
    # Threads that take the event queues (the deliveries they hold at once are applied
    # together, docs/performance.md); 0: messages wait (crash-recovery tests).
    worker_threads: int = Field(8, ge=0)
    # How far `atende worker` lowers its CPU priority (nice) below the processes beside it:
    # a request someone waits on then goes before a delivery, which waits in its queue.
    # Off by default: beside PostgreSQL on one busy machine, deliveries fell far behind
    # (docs/operations.md).
    worker_nice: int = Field(0, ge=0, le=19)
    # Threads of their own for the jobs that wait on another server (a mail's SMTP or SES;
    # contract.Job with a queue), beside the worker threads: a slow mail server holds these
    # alone. 0: this process leaves those queues to workers that have some.
    io_threads: int = Field(4, ge=0)
    # How long a command on a request waits for its service's view of the request to catch
    # up with a change the client has already seen (shared.freshness).
    view_wait_seconds: float = Field(2.0, ge=0)
    # /health/ready fails when an outbox entry has waited longer than this to go out.
    ready_outbox_lag_seconds: float = 60.0
    # A failure that recurs (a broker down) is logged at most once per this many seconds.
    log_repeat_seconds: float = 30.0
    # Prometheus metrics counted, and served on /metrics. Off (the Lambda functions, which
    # nothing scrapes: CloudWatch has their own figures), every count is a no-op, no
    # prometheus_client is imported and /metrics answers 404.
    metrics: bool = True
    # The worker and scheduler processes serve /metrics and /health/ready on this port
    # (0: not at all; several workers on one host each need their own).
    metrics_port: int = Field(0, ge=0, le=65535)
    # Threads of the WSGI server. Requests are CPU-bound, so more threads mostly take turns
    # on the GIL; but a thread waiting on an upload's judge (a child process, for up to its
    # budget) holds no GIL and serves nobody, so there must be threads to spare beyond
    # ``judge_concurrency`` (docs/uploads.md). Waitress reads bodies and writes responses on
    # its own I/O thread, so a slow client does not hold one.
    http_threads: int = Field(4, ge=1)
    # The server's connections at once, and the seconds a connection may stay silent
    # (a stalled upload holds its buffers until then).
    http_connection_limit: int = 100
    http_channel_timeout: int = 30
    # Extra Dramatiq middleware, "module:Class" each, added to every process's broker
    # (e.g. metrics; the fault suite's chaos injector).
    broker_middleware: list[str] = Field(default_factory=empty_list)

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

    # The web console (console/). The institution's name heads every screen.
    institution_name: str = "Atende"
    # The console's public origin (https://host), for the links in the mails; unset: the
    # mails carry no link.
    console_url: str | None = None
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
    # On S3 (docs/uploads.md, *Direct uploads*): how long a presigned upload or download URL
    # lives, and the size from which a download answers a redirect to S3 instead of the
    # bytes; 0 never. Unset: 4 MiB on S3 itself (a Lambda response carries 6 MB, base64
    # makes 4 MiB 5.6 MB), never on a store of one's own, whose endpoint clients may not
    # reach.
    blob_url_seconds: int = Field(300, ge=30, le=3600)
    blob_redirect_bytes: int | None = Field(None, ge=0)

    # AWS.
    aws_region: str = "us-east-1"
    aws_endpoint_url: str | None = None
    table_prefix: str = "atende"
    bucket: str = "atende-blobs"
    ses_sender: str = "atende@example.gov.br"

    @classmethod
    def settings_customise_sources(
        cls, settings_cls: type[BaseSettings], init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource, dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # The platform is configured by its environment alone (no .env file, no secrets
        # directory is configured): the other two sources would each walk every field to
        # find nothing, at every process's start.
        return init_settings, env_settings

    @property
    def redirect_bytes(self) -> int:
        """Downloads over this size are redirected to S3; 0: none is."""
        if self.blob_redirect_bytes is not None:
            return self.blob_redirect_bytes
        return 0 if self.blob_endpoint_url else 4 * 1024 * 1024

    @property
    def max_body_bytes(self) -> int:
        """The largest body any route accepts (a follow-up's files and fields): anything
        larger is refused from its Content-Length, before it is read."""
        return self.max_file_bytes * max(1, self.max_files_per_post) + self.max_json_bytes

    @field_validator("broker_url")
    @classmethod
    def _known_broker(cls, url: str) -> str:
        scheme = url.split("://", 1)[0] if "://" in url else ""
        if scheme not in BROKER_SCHEMES:
            raise ValueError(
                f"unsupported broker {scheme or url!r}: use memory://, redis://, rediss://, "
                f"amqp://, amqps:// or sqs://")
        return url

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
        """A path under the data directory, whose directories are made owner-only."""
        from shared.datadir import private_dir

        p = self.data_dir.joinpath(*parts)
        private_dir(p.parent)
        return p


def problem_line(exc: ValidationError) -> str:
    """One line for an operator: the environment variable, what is wrong with its value,
    and an example of a good one (the first problem, if there are several)."""
    err = exc.errors(include_url=False)[0]
    if not err["loc"]:  # a rule over several settings: its message names them
        return "bad settings: " + str(err["msg"]).removeprefix("Value error, ")
    name = str(err["loc"][0])
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
