"""Events as AWS hands them to Lambda: SQS batches (as the poller receives them), DynamoDB
stream records, API Gateway HTTP API (payload 2.0) requests routed by the template."""

from __future__ import annotations

import base64
import json
import re
from typing import Any
from urllib.parse import urlencode

from infra.aws import template

ACCOUNT = "123456789012"


def sqs_poll(sqs: Any, queue_name: str, *, max_messages: int = 10) -> dict[str, Any]:
    """One receive, as the Lambda poller does it, turned into an SQS event."""
    url = sqs.get_queue_url(QueueName=queue_name)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"]
                                   )["Attributes"]["QueueArn"]
    # WaitTimeSeconds=0: the queues long-poll (20 s), which would only slow the tests.
    got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=max_messages,
                              AttributeNames=["All"], WaitTimeSeconds=0).get("Messages", [])
    return {"Records": [{
        "messageId": m["MessageId"], "receiptHandle": m["ReceiptHandle"], "body": m["Body"],
        "attributes": m.get("Attributes", {}), "eventSource": "aws:sqs",
        "eventSourceARN": arn} for m in got]}


def stream_insert(table_name: str, item: dict[str, Any], seq: int = 1) -> dict[str, Any]:
    from shared.tables.dynamodb import to_item

    image = to_item(item)
    return {"eventName": "INSERT", "eventSource": "aws:dynamodb",
            "eventSourceARN": f"arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/{table_name}"
                              "/stream/2026-01-01T00:00:00.000",
            "dynamodb": {"Keys": {"pk": image["pk"], "sk": image["sk"]}, "NewImage": image,
                         "SequenceNumber": str(seq), "StreamViewType": "NEW_IMAGE"}}


def _routes() -> list[tuple[tuple[int, int], re.Pattern[str], str, str]]:
    out = []
    for fn in template.load()["Resources"].values():
        if fn["Type"] != "AWS::Serverless::Function":
            continue
        for ev in fn["Properties"].get("Events", {}).values():
            if ev["Type"] != "HttpApi":
                continue
            path, method = ev["Properties"]["Path"], ev["Properties"]["Method"]
            literal = sum(1 for seg in path.split("/") if seg and "{" not in seg)
            greedy = "{proxy+}" in path
            rx = re.escape(path).replace(r"\{proxy\+\}", ".+")
            rx = re.sub(r"\\\{[a-z]+\\\}", "[^/]+", rx)
            out.append(((0 if greedy else 1, literal), re.compile(f"^{rx}$"), method,
                        fn["Properties"]["Handler"]))
    return out


def route(method: str, path: str) -> str | None:
    """The handler API Gateway would pick: the most specific matching route, a greedy
    {proxy+} last (HTTP API route precedence)."""
    hits = [(rank, handler) for rank, rx, m, handler in _routes()
            if rx.match(path) and m in ("ANY", method)]
    return max(hits)[1] if hits else None


def http_event(method: str, path: str, *, query: dict[str, Any] | None = None,
               headers: dict[str, str] | None = None, body: bytes = b"") -> dict[str, Any]:
    raw_query = urlencode(query or {}, doseq=True)
    return {
        "version": "2.0", "routeKey": f"{method} {path}", "rawPath": path,
        "rawQueryString": raw_query,
        "headers": {k.lower(): v for k, v in (headers or {}).items()},
        "requestContext": {"accountId": ACCOUNT, "apiId": "api", "domainName": "api.test",
                           "http": {"method": method, "path": path, "protocol": "HTTP/1.1",
                                    "sourceIp": "203.0.113.9", "userAgent": "test"},
                           "requestId": "req", "stage": "$default", "timeEpoch": 0},
        "body": base64.b64encode(body).decode(), "isBase64Encoded": True,
    }


def decode_response(resp: dict[str, Any]) -> tuple[int, dict[str, str], bytes]:
    body = resp.get("body") or ""
    data = base64.b64decode(body) if resp.get("isBase64Encoded") else body.encode()
    headers = {k.lower(): v for k, v in (resp.get("headers") or {}).items()}
    return resp["statusCode"], headers, data


def as_json(data: bytes) -> Any:
    return json.loads(data) if data else None
