"""Lambda entry point: the requests service's HTTP API."""

from infra.aws.http import service_handler

handler = service_handler("requests")
