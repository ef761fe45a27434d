"""The platform as it runs on AWS, under moto, with the interface of the embedded test
harness (``token``, ``client.simulate_*``, ``drain``), so the same helpers drive both.

Requests go as API Gateway HTTP API events to the handler the template's routes pick.
``drain`` does what Lambda's pollers do: DynamoDB stream records of outbox inserts go to
the relay handler; SQS messages go, in batches, to each service's worker handler, and
the records it does not report as failures are deleted.
"""

from __future__ import annotations

import importlib
import json
import os
from typing import Any
from urllib.parse import urlencode

from infra.aws import relay, runtime, worker
from infra.services import SERVICES, load_service, queues
from shared.aws import client
from shared.clock import Clock
from shared.identity import dev_secret, mint
from shared.settings import Settings
from shared.tables.dynamodb import table_name
from tests.aws.lambda_events import as_json, decode_response, http_event, route, sqs_poll


class Result:
    def __init__(self, status: int, headers: dict[str, str], content: bytes) -> None:
        self.status_code, self.headers, self.content = status, headers, content

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", "replace")

    @property
    def json(self) -> Any:
        return as_json(self.content)


class LambdaClient:
    """falcon.testing.TestClient's calling conventions, over the Lambda HTTP handlers."""

    def simulate_request(self, method: str, path: str, *, json: Any = None,
                         body: bytes | str | None = None, headers: dict[str, str] | None = None,
                         params: dict[str, Any] | None = None, query_string: str | None = None
                         ) -> Result:
        headers = dict(headers or {})
        data = body.encode() if isinstance(body, str) else (body or b"")
        if json is not None:
            data = _json.dumps(json).encode()
            headers.setdefault("Content-Type", "application/json")
        handler_path = route(method, path)
        if handler_path is None:  # API Gateway's own answer to an unknown route
            return Result(404, {"content-type": "application/json"}, b'{"message":"Not Found"}')
        module, attr = handler_path.rsplit(".", 1)
        handler = getattr(importlib.import_module(module), attr)
        event = http_event(method, path, headers=headers, body=data)
        event["rawQueryString"] = query_string or urlencode(params or {}, doseq=True)
        return Result(*decode_response(handler(event, None)))

    def __getattr__(self, name: str) -> Any:
        if not name.startswith("simulate_"):
            raise AttributeError(name)
        method = name.removeprefix("simulate_").upper()
        return lambda path, **kw: self.simulate_request(method, path, **kw)


_json = json


class AwsHarness:
    def __init__(self, settings: Settings, clock: Clock | None = None) -> None:
        runtime.configure(settings=settings, clock=clock)
        # A warm container keeps the app its HTTP handler built: an earlier harness's
        # (another environment, another dev secret) must not answer for this one.
        for service in SERVICES:
            importlib.import_module(f"infra.aws.http_{service}").handler.reset()
        self.settings = settings
        self.client = LambdaClient()
        self.secret = dev_secret(settings)
        self.sqs = client(settings, "sqs")
        self.streams = _Streams(settings)
        self.invocations: dict[str, int] = {}
        # The services with a worker: those that consume events or run their own jobs.
        self.workers = tuple(n for n in SERVICES
                             if load_service(n).apply or load_service(n).actors)

    def token(self, sub: str, *roles: str, org: str | None = None, unit: str | None = None,
              name: str | None = None, email: str | None = None, ttl: int = 3600) -> str:
        s = self.settings
        return mint(self.secret, sub=sub, roles=list(roles) or ["citizen"], org=org, unit=unit,
                    name=name or sub.title(), email=email, ttl=ttl,
                    issuer=s.jwt_issuer, audience=s.jwt_audience)

    def drain(self, rounds: int = 20) -> None:
        for _ in range(rounds):
            busy = self._relay_streams()
            for service in self.workers:
                busy |= self._work(service)
            if not busy:
                return
        raise AssertionError("queues did not drain")

    def _relay_streams(self) -> bool:
        records = self.streams.read()
        if records:
            assert relay.handler({"Records": records}, None) == {"batchItemFailures": []}
        return bool(records)

    def _work(self, service: str) -> bool:
        """A batch from each of the service's queues (its events', its jobs' own), to its
        worker function, as each queue's event source mapping sends it."""
        worked = False
        for queue, _ in queues((service,)):
            worked |= self._work_queue(service, queue)
        return worked

    def _work_queue(self, service: str, queue: str) -> bool:
        name = f"{self.settings.table_prefix}-{self.settings.environment}_{queue}"
        event = sqs_poll(self.sqs, name)
        if not event["Records"]:
            return False
        os.environ["ATENDE_SERVICE"] = service  # as the template sets it per function
        try:
            result = worker.handler(event, None)
        finally:
            del os.environ["ATENDE_SERVICE"]
        self.invocations[service] = self.invocations.get(service, 0) + 1
        failed = {f["itemIdentifier"] for f in result["batchItemFailures"]}
        url = self.sqs.get_queue_url(QueueName=name)["QueueUrl"]
        for r in event["Records"]:
            if r["messageId"] not in failed:  # what Lambda does after a partial failure
                self.sqs.delete_message(QueueUrl=url, ReceiptHandle=r["receiptHandle"])
        return True


class _Streams:
    """Reads each service table's stream from where it left off, keeping what the
    template's FilterCriteria lets through: INSERTs of outbox entries."""

    def __init__(self, settings: Settings) -> None:
        self.dynamodb = client(settings, "dynamodb")
        # botocore now picks an account-based endpoint (streams-ddb) moto does not know yet.
        self.streams = client(settings.model_copy(update={
            "aws_endpoint_url": f"https://streams.dynamodb.{settings.aws_region}.amazonaws.com"}),
            "dynamodbstreams")
        self.iterators: dict[str, str] = {}
        for service in SERVICES:
            name = table_name(settings, service)
            arn = self.dynamodb.describe_table(TableName=name)["Table"]["LatestStreamArn"]
            shard = self.streams.describe_stream(StreamArn=arn)["StreamDescription"][
                "Shards"][0]["ShardId"]
            self.iterators[arn] = self.streams.get_shard_iterator(
                StreamArn=arn, ShardId=shard, ShardIteratorType="LATEST")["ShardIterator"]

    def read(self) -> list[dict[str, Any]]:
        out = []
        for arn, it in self.iterators.items():
            resp = self.streams.get_records(ShardIterator=it)
            self.iterators[arn] = resp["NextShardIterator"]
            for r in resp["Records"]:
                keys = r["dynamodb"]["Keys"]
                if r["eventName"] == "INSERT" and keys["pk"]["S"].startswith("OUTBOX#"):
                    out.append({**r, "eventSourceARN": arn})
        return out
