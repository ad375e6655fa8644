"""The answer to a verified GET or HEAD of an object: S3's headers, conditions and ranges.

Headers sent: ETag, Last-Modified, Accept-Ranges, Content-Type, Content-Length, every header the
object keeps (``object_headers``), the ``response-*`` overrides the route allows, and, with
``x-amz-checksum-mode: ENABLED`` on a whole-object S3 read, the stored checksum (S3 leaves it out
of ranged answers). Conditions give 304 (with ETag and Last-Modified only) or 412; ``Range`` gives
206 with Content-Range, or 416.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from mock_server.storage import checksums, conditional, object_headers
from mock_server.storage.s3 import ObjectStore
from mock_server.storage.s3_errors import NoSuchKey

GCS_OVERRIDES = ("response-content-disposition", "response-content-type")


def object_response(
    request: Request,
    objects: ObjectStore,
    bucket: str,
    key: str,
    *,
    now: datetime,
    allowed_overrides: Iterable[str] = object_headers.RESPONSE_OVERRIDES,
    checksum_headers: bool = True,
) -> Response:
    """Raises: NoSuchKey; InvalidArgument for an override no header can carry; PreconditionFailed;
    InvalidRange."""
    info = objects.head(bucket, key)
    if info is None:
        raise NoSuchKey(Key=key)
    query = request.query_params.multi_items()
    overrides = object_headers.overrides(query, allowed_overrides)
    validators = {"etag": info.etag, "last-modified": object_headers.http_date(info.uploaded_at)}
    if conditional.not_modified(request.headers, info.etag, info.uploaded_at, now):
        return Response(status_code=304, headers=validators)
    span = conditional.byte_range(request.headers.get("range"), info.size)
    headers = {
        **validators,
        "accept-ranges": "bytes",
        # The stored type goes back verbatim (media_type= would append "; charset=utf-8" to text/*).
        "content-type": info.content_type,
        **info.headers,
    }
    wants_checksum = request.headers.get("x-amz-checksum-mode", "").upper() == "ENABLED"
    if checksum_headers and wants_checksum and span is None:
        stored = info.checksums
        if not stored:  # S3's default CRC64NVME, worked out on first demand
            stored = checksums.default_checksum(objects.open(bucket, key)[1])
            objects.remember_checksums(info, stored)
        headers.update(checksums.response_headers(stored))
    headers.update(overrides)
    first, length, status = 0, info.size, 200
    if span is not None:
        first, length, status = span.first, span.length, 206
        headers["content-range"] = span.content_range(info.size)
    headers["content-length"] = str(length)
    if request.method == "HEAD":
        return Response(status_code=status, headers=headers)
    _, chunks = objects.open(bucket, key, first, length)
    return StreamingResponse(chunks, status_code=status, headers=headers)
