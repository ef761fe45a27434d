"""Lambda entry point: the web console (/console/…), over the requests service's handlers
in process, its sessions in the console's DynamoDB table."""

from __future__ import annotations

from typing import Any

from infra.aws.http import lazy_handler


def _console() -> Any:
    from infra.aws import runtime

    # The console alone: the requests service's JSON API is another function's.
    platform = runtime.platform(("requests",), http=False, console=True)
    if platform.settings.console_dev_login:
        raise RuntimeError("ATENDE_CONSOLE_DEV_LOGIN is for `atende dev` only: unset it")
    return platform.console


handler = lazy_handler(_console)
