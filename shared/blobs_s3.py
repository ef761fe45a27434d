"""The blob port on S3: content-addressed objects under a per-service prefix, always
written with server-side encryption. Downloads may redirect to a short-lived presigned URL
instead of passing the bytes through a Lambda function, and uploads may go straight to
S3 under a key of their own (``uploads/``) until they are judged and stored."""

from __future__ import annotations

import base64
import hashlib
import re
from typing import Any

from shared.settings import Settings

_KEY = re.compile(r"^[0-9a-f]{64}$")
_UPLOAD = re.compile(r"^[0-9A-Za-z]{10,40}$")


class S3Blobs:
    def __init__(self, settings: Settings, prefix: str, *, client: Any = None) -> None:
        self.settings = settings
        self.bucket = settings.bucket
        self.prefix = prefix.strip("/")
        self._client = client  # built on first use: nothing is contacted at import or init

    @property
    def client(self) -> Any:
        if self._client is None:
            from shared.aws import client

            # SigV4 is required for presigned URLs on SSE objects.
            endpoint = self.settings.blob_endpoint_url
            if endpoint is None:
                self._client = client(self.settings, "s3", signature_version="s3v4")
            else:  # a store of one's own: no bucket subdomains there
                self._client = client(
                    self.settings.model_copy(update={"aws_endpoint_url": endpoint}), "s3",
                    signature_version="s3v4", s3={"addressing_style": "path"})
        return self._client

    def object_key(self, key: str) -> str:
        if not _KEY.match(key):
            raise KeyError(key)  # keys are ours (SHA-256), never a client's file name
        return f"{self.prefix}/{key[:2]}/{key}"

    def put(self, data: bytes, content_type: str) -> str:
        digest = hashlib.sha256(data)
        key = digest.hexdigest()
        # S3 checks the SHA-256 itself, so a corrupted upload is refused, not stored.
        sse = {"ServerSideEncryption": "AES256"} if self.settings.blob_encryption else {}
        self.client.put_object(
            Bucket=self.bucket, Key=self.object_key(key), Body=data, ContentType=content_type,
            ChecksumSHA256=base64.b64encode(digest.digest()).decode(), **sse)
        return key

    def get(self, key: str) -> bytes:
        try:
            resp = self.client.get_object(Bucket=self.bucket, Key=self.object_key(key))
        except Exception as exc:
            code = getattr(exc, "response", {}).get("Error", {}).get("Code")
            if code in ("NoSuchKey", "404"):
                raise KeyError(key) from None
            raise
        data: bytes = resp["Body"].read()
        return data

    def presigned_url(self, key: str, *, filename: str, content_type: str,
                      expires: int = 300) -> str:
        """A URL that downloads the blob for ``expires`` seconds, as an attachment."""
        from urllib.parse import quote

        ascii_name = filename.encode("ascii", "replace").decode().replace("?", "_")
        disposition = (f"attachment; filename=\"{ascii_name}\"; "
                       f"filename*=UTF-8''{quote(filename)}")
        url: str = self.client.generate_presigned_url(
            "get_object", ExpiresIn=expires,
            Params={"Bucket": self.bucket, "Key": self.object_key(key),
                    "ResponseContentDisposition": disposition,
                    "ResponseContentType": content_type})
        return url

    # --- direct uploads: a client posts a file straight to S3, the platform judges it there

    def upload_key(self, upload_id: str) -> str:
        if not _UPLOAD.match(upload_id):
            raise KeyError(upload_id)  # ids are ours, never a client's name
        return f"{self.prefix}/uploads/{upload_id}"

    def upload_form(self, upload_id: str, *, content_type: str, max_bytes: int,
                    expires: int) -> dict[str, Any]:
        """A presigned POST (``url`` and form ``fields``) that S3 honours only for this
        key, a body of 1 to ``max_bytes`` bytes and this Content-Type, for ``expires``
        seconds."""
        fields: dict[str, str] = {"Content-Type": content_type}
        conditions: list[Any] = [["content-length-range", 1, max_bytes],
                                 {"Content-Type": content_type}]
        if self.settings.blob_encryption:
            fields["x-amz-server-side-encryption"] = "AES256"
            conditions.append({"x-amz-server-side-encryption": "AES256"})
        form: dict[str, Any] = self.client.generate_presigned_post(
            Bucket=self.bucket, Key=self.upload_key(upload_id), Fields=fields,
            Conditions=conditions, ExpiresIn=expires)
        return form

    def read_upload(self, upload_id: str, max_bytes: int) -> bytes | None:
        """At most ``max_bytes + 1`` bytes of the uploaded object (one more than the cap
        shows it is over), or None if nothing was uploaded."""
        try:
            resp = self.client.get_object(Bucket=self.bucket, Key=self.upload_key(upload_id),
                                          Range=f"bytes=0-{max_bytes}")
        except Exception as exc:
            code = getattr(exc, "response", {}).get("Error", {}).get("Code")
            if code in ("NoSuchKey", "404"):
                return None
            if code == "InvalidRange":  # an empty object (the form's conditions forbid it)
                return b""
            raise
        data: bytes = resp["Body"].read(max_bytes + 1)
        return data

    def drop_upload(self, upload_id: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=self.upload_key(upload_id))


def download_url(blobs: object, settings: Settings, *, blob: str, size: int, filename: str,
                 content_type: str) -> str | None:
    """A presigned GET for a file too large to answer through a function, if the blobs are
    on S3 and the file is over ``settings.redirect_bytes``; else None (stream it)."""
    limit = settings.redirect_bytes
    if not isinstance(blobs, S3Blobs) or not limit or size <= limit:
        return None
    return blobs.presigned_url(blob, filename=filename, content_type=content_type,
                               expires=settings.blob_url_seconds)
