"""Lambda entry point: the followups service's HTTP API."""

from infra.aws.http import service_handler

handler = service_handler("followups")
