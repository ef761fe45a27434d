"""The cold start's baseline: the smallest Lambda function doing what a handler's first
event does at least, a Falcon app behind apig-wsgi (API Gateway events) or a loop over SQS
records, each reading one DynamoDB item with boto3, its client made at import as a
minimal function's would be."""

from __future__ import annotations

import os
from typing import Any

import boto3
import falcon
from apig_wsgi import make_lambda_handler

TABLE = os.environ.get("ATENDE_BENCH_TWIN_TABLE", "atende-dev-requests")
_dynamodb = boto3.client("dynamodb", region_name=os.environ.get("AWS_DEFAULT_REGION", "us-east-1"),
                         endpoint_url=os.environ.get("ATENDE_AWS_ENDPOINT_URL"))


def _read(key: str) -> dict[str, Any] | None:
    got = _dynamodb.get_item(TableName=TABLE, Key={"pk": {"S": key}, "sk": {"S": key}})
    item: dict[str, Any] | None = got.get("Item")
    return item


class _Item:
    def on_get(self, req: falcon.Request, resp: falcon.Response, **params: str) -> None:
        item = _read(req.path)
        resp.media = {"found": item is not None}


_app = falcon.App()
_app.add_sink(_Item().on_get, "/")
_http = make_lambda_handler(_app, binary_support=True)


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    if "Records" in event:
        for record in event["Records"]:
            _read(record["messageId"])
        return {"batchItemFailures": []}
    return dict(_http(event, context))
