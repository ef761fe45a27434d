"""One moto mock per test module (moto is slow to start), with the environment's tables,
queues and bucket created by `atende ops create` from infra/template.yaml."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from infra import ops
from infra.aws import runtime
from shared.settings import Settings
from tests.aws.moto_env import REGION, mocked

SENDER = "atende@example.gov.br"


def aws_settings(data_dir: Path, **overrides: object) -> Settings:
    return Settings(**{
        "data_dir": data_dir, "table_backend": "dynamodb", "blob_backend": "s3",
        "notifier": "ses", "broker_url": "sqs://", "aws_region": REGION,
        "environment": "test", "bucket": "atende-test-blobs", "ses_sender": SENDER,
        "min_backoff_ms": 10, "max_backoff_ms": 50, "max_retries": 2, **overrides})


@contextmanager
def aws_environment(settings: Settings) -> Iterator[Settings]:
    """Moto, with what `atende ops create` makes and the SES sender verified; the Lambda
    runtime configured with these settings."""
    with mocked():
        ops.create(settings)
        from shared.aws import client

        client(settings, "ses").verify_email_identity(EmailAddress=settings.ses_sender)
        runtime.configure(settings=settings)
        try:
            yield settings
        finally:
            runtime.reset()


@pytest.fixture(scope="module")
def aws(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    with aws_environment(aws_settings(tmp_path_factory.mktemp("aws"))) as settings:
        yield settings
