"""S3 blobs, the SES mailer and the sqs:// broker under moto."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from base64 import b64decode

import pytest
from dramatiq import Message

from infra import ops
from shared.aws import client
from shared.blobs_s3 import S3Blobs
from shared.broker import SQS_VISIBILITY_TIMEOUT, build_broker
from shared.mail import Mail, mailer_from
from shared.settings import Settings
from shared.topology import queue_of


def test_s3_blobs_round_trip_encrypted(aws: Settings) -> None:
    blobs = S3Blobs(aws, prefix="requests")
    data = b"%PDF-1.7 fake"
    key = blobs.put(data, "application/pdf")
    assert key == hashlib.sha256(data).hexdigest()
    assert blobs.get(key) == data
    head = client(aws, "s3").head_object(Bucket=aws.bucket, Key=f"requests/{key[:2]}/{key}")
    assert head["ServerSideEncryption"] == "AES256"
    assert head["ContentType"] == "application/pdf"
    with pytest.raises(KeyError):
        blobs.get("0" * 64)
    with pytest.raises(KeyError):
        blobs.get("../../etc/passwd")  # keys are hashes, never paths
    # Another service's prefix does not see it.
    with pytest.raises(KeyError):
        S3Blobs(aws, prefix="reviews").get(key)


def test_s3_presigned_url_is_a_short_lived_attachment(aws: Settings) -> None:
    blobs = S3Blobs(aws, prefix="followups")
    key = blobs.put(b"\x89PNG....", "image/png")
    url = blobs.presigned_url(key, filename="relatório.png", content_type="image/png",
                              expires=120)
    assert f"followups/{key[:2]}/{key}" in url
    assert "X-Amz-Expires=120" in url and "X-Amz-Signature=" in url
    assert "response-content-disposition=attachment" in url


def test_ses_mailer_sends_the_raw_message(aws: Settings) -> None:
    from moto.backends import get_backend
    from moto.core import DEFAULT_ACCOUNT_ID

    mailer = mailer_from(aws)
    mailer.send(Mail(to="carla@example.com", subject="Solicitação aprovada",
                     text="Sua solicitação foi aprovada.", html="<p>Aprovada</p>"))
    sent = get_backend("ses")[DEFAULT_ACCOUNT_ID][aws.aws_region].sent_messages
    raw = sent[-1].raw_data
    assert "carla@example.com" in sent[-1].destinations
    assert "Subject: =?utf-8?" in raw and "text/html" in raw


def test_sqs_broker_uses_the_template_queues(aws: Settings) -> None:
    broker = build_broker(aws)
    queue = queue_of("reviews")
    broker.declare_queue(queue)
    msg = Message(queue_name=queue, actor_name="reviews_on_event",
                  args=({"type": "X", "id": "e1"},), kwargs={}, options={})
    broker.enqueue(msg)
    sqs = client(aws, "sqs")
    url = sqs.get_queue_url(QueueName=f"atende-test_{queue}")["QueueUrl"]
    attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert attrs["VisibilityTimeout"] == str(SQS_VISIBILITY_TIMEOUT)
    assert "_dlq" in attrs["RedrivePolicy"]
    got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    assert [Message.decode(b64decode(m["Body"])).message_id for m in got] == [msg.message_id]
    consumer = broker.consume(queue)
    assert consumer.visibility_timeout == SQS_VISIBILITY_TIMEOUT
    assert consumer.dead_letter_queue is not None
    for m in got:
        sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
    broker.close()


def test_sqs_broker_is_dramatiq_sqs_s_without_its_own_session(aws: Settings) -> None:
    """The lazy broker sets what SQSBroker's constructor sets (so a new dramatiq_sqs that
    adds an attribute fails here), and makes its resource from the shared session only
    when it first needs it."""
    from dramatiq_sqs import SQSBroker

    import shared.aws

    lazy = build_broker(aws)
    theirs = SQSBroker(namespace="x", dead_letter=True, visibility_timeout=1,
                       region_name=aws.aws_region)
    assert set(vars(theirs)) - {"sqs"} <= set(vars(lazy))
    assert lazy._sqs is None
    assert lazy.sqs.meta.client.meta.region_name == aws.aws_region
    assert lazy.sqs is lazy.sqs
    assert shared.aws._session is not None
    assert lazy.sqs.meta.client._loader is shared.aws._session.get_component("data_loader")
    theirs.close()
    lazy.close()


def test_ops_create_is_idempotent(aws: Settings) -> None:
    assert all(not line.startswith("table") for line in ops.create(aws))


def test_clients_come_from_botocore_and_only_a_resource_loads_boto3() -> None:
    """A function that reads DynamoDB or S3 loads no boto3 (and no s3transfer) on its first
    answer; the SQS resource dramatiq_sqs needs brings boto3, over the same session."""
    code = ("import sys; from shared import aws; from shared.settings import Settings; "
            "s = Settings(aws_region='us-east-1'); aws.client(s, 'dynamodb'); "
            "aws.client(s, 's3'); "
            "assert not [m for m in ('boto3', 's3transfer') if m in sys.modules]; "
            "q = aws.resource(s, 'sqs'); assert 'boto3' in sys.modules; "
            "assert q.meta.client._loader is aws._session.get_component('data_loader'); "
            "assert aws.resource(s, 'sqs') is not q; aws.client(s, 's3')")
    env = {**os.environ, "AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "x"}
    subprocess.run([sys.executable, "-c", code], check=True, env=env, timeout=60)
