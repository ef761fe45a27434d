"""``atende ops create``: what an environment needs before the platform runs on it."""

from __future__ import annotations

import json
from typing import Any

from infra.services import SERVICES, queues
from shared.settings import Settings

# Beside the services' tables: the console's, for its login sessions.
TABLES = (*SERVICES, "console")


def create(settings: Settings) -> list[str]:
    """Create what is missing: a table per service, each queue (a service's event queue,
    its jobs' own) with its DLQ and
    redrive policy, and the blob bucket. Idempotent. On PostgreSQL, the schema's missing
    migrations (RabbitMQ and Redis queues are declared by the processes themselves)."""
    if settings.table_backend == "postgres":
        return _create_postgres(settings)
    from infra.aws import template
    from shared.aws import client
    from shared.tables.dynamodb import table_name

    made: list[str] = []
    dynamodb = client(settings, "dynamodb")
    existing = set(dynamodb.list_tables().get("TableNames", []))
    for service in TABLES:
        name = table_name(settings, service)
        if name not in existing:
            dynamodb.create_table(**template.table_spec(service, name))
            dynamodb.get_waiter("table_exists").wait(TableName=name)
            dynamodb.update_time_to_live(TableName=name, TimeToLiveSpecification=template
                                         .time_to_live(service))
            made.append(f"table {name}")
    sqs = client(settings, "sqs")
    for queue, _ in queues():
        base = f"{settings.table_prefix}-{settings.environment}_{queue}"
        dlq_url = sqs.create_queue(QueueName=f"{base}_dlq",
                                   Attributes=template.dead_letter_attributes(queue))["QueueUrl"]
        dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"]
                                           )["Attributes"]["QueueArn"]
        attrs, max_receives = template.queue_attributes(queue)
        attrs["RedrivePolicy"] = json.dumps({"deadLetterTargetArn": dlq_arn,
                                             "maxReceiveCount": max_receives})
        sqs.create_queue(QueueName=base, Attributes=attrs)
        made.append(f"queue {base}")
    s3 = client(settings, "s3")
    try:
        s3.head_bucket(Bucket=settings.bucket)
    except Exception:
        kwargs: dict[str, Any] = {}
        if settings.aws_region != "us-east-1":
            kwargs["CreateBucketConfiguration"] = {"LocationConstraint": settings.aws_region}
        s3.create_bucket(Bucket=settings.bucket, **kwargs)
        s3.put_bucket_encryption(Bucket=settings.bucket, ServerSideEncryptionConfiguration={
            "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]})
        made.append(f"bucket {settings.bucket}")
    return made


def _create_postgres(settings: Settings) -> list[str]:
    from shared.tables import StoreUnavailable
    from shared.tables.postgres import PostgresDatabase

    if not settings.database_url:
        raise StoreUnavailable("ATENDE_DATABASE_URL is not set: set it to the database's "
                         "postgresql:// URL")
    db = PostgresDatabase(settings.database_url, max_size=1)
    try:
        made = db.migrate(TABLES)
    finally:
        db.close()
    if settings.blob_backend == "s3":
        made += _create_bucket(settings)
    return made


def _create_bucket(settings: Settings) -> list[str]:
    """The blob bucket on the S3-compatible store, if missing."""
    from shared.blobs_s3 import S3Blobs

    s3 = S3Blobs(settings, prefix="").client
    try:
        s3.head_bucket(Bucket=settings.bucket)
        return []
    except Exception:
        s3.create_bucket(Bucket=settings.bucket)
        return [f"bucket {settings.bucket}"]
