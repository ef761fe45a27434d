"""Lambda entry point: the meetings service's HTTP API."""

from infra.aws.http import service_handler

handler = service_handler("meetings")
