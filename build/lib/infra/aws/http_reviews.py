"""Lambda entry point: the reviews service's HTTP API."""

from infra.aws.http import service_handler

handler = service_handler("reviews")
