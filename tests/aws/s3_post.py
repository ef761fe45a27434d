"""A client's POST of a file to S3 with a presigned form, and the check S3 makes of the
form's policy before it stores anything.

Moto (5.2) stores whatever is posted to a bucket without reading the policy, so that check
is made here, by S3's documented rules (Amazon S3 API reference, *Creating a POST policy*),
before the form goes on to moto: the policy carries the SigV4 signature of the credentials
that signed it, has not expired, names every field of the form, and each of its
conditions holds for the form and the file. A refusal is answered as S3 answers it:
400 ``EntityTooLarge`` / ``EntityTooSmall`` for the length range, 403 ``AccessDenied``
otherwise.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
from datetime import UTC, datetime
from urllib.parse import urlparse

import requests

# Fields S3 does not look for in the policy's conditions.
_UNCHECKED = {"policy", "x-amz-signature", "file"}


def _sign(key: bytes, msg: str) -> bytes:
    return hmac.new(key, msg.encode(), hashlib.sha256).digest()


def _signature(policy: str, credential: str) -> str:
    _, date, region, service, _ = credential.split("/")
    key = _sign(("AWS4" + os.environ["AWS_SECRET_ACCESS_KEY"]).encode(), date)
    key = _sign(_sign(_sign(key, region), service), "aws4_request")
    return hmac.new(key, policy.encode(), hashlib.sha256).hexdigest()


def refusal(url: str, fields: dict[str, str], size: int) -> tuple[int, str] | None:
    """Why S3 would refuse this form with a file of ``size`` bytes, or None."""
    policy_b64 = fields.get("policy", "")
    if _signature(policy_b64, fields.get("x-amz-credential", "x/x/x/x/x")) != fields.get(
            "x-amz-signature"):
        return 403, "AccessDenied: the policy's signature does not match"
    policy = json.loads(base64.b64decode(policy_b64))
    if datetime.fromisoformat(policy["expiration"].replace("Z", "+00:00")) <= datetime.now(UTC):
        return 403, "AccessDenied: the policy has expired"
    form = {k.lower(): v for k, v in fields.items()}
    form["bucket"] = urlparse(url).hostname.split(".")[0]  # type: ignore[union-attr]
    covered: set[str] = set()
    for cond in policy["conditions"]:
        if isinstance(cond, dict):
            ((name, value),) = cond.items()
            cond = ["eq", f"${name}", value]
        op, name, value = cond
        if op == "content-length-range":
            if size < name:
                return 400, "EntityTooSmall"
            if size > value:
                return 400, "EntityTooLarge"
            continue
        field = name.removeprefix("$").lower()
        covered.add(field)
        got = form.get(field)
        if got is None or not (got == value if op == "eq" else got.startswith(value)):
            return 403, f"AccessDenied: Invalid according to Policy: Policy Condition " \
                        f"failed: [{op!r}, {name!r}, {value!r}]"
    extra = {k for k in form if k not in _UNCHECKED and not k.startswith("x-ignore-")}
    if extra - covered - {"bucket"}:
        return 403, f"AccessDenied: no policy condition for {sorted(extra - covered)}"
    return None


def post_file(url: str, fields: dict[str, str], data: bytes, *, filename: str = "f"
              ) -> tuple[int, str]:
    """Post ``data`` with the form as a browser does (the file last); S3's answer."""
    refused = refusal(url, fields, len(data))
    if refused is not None:
        return refused
    r = requests.post(url, data=fields, files={"file": (filename, data)}, timeout=10)
    return r.status_code, r.text

