"""S3 multipart uploads: create, upload part, complete, abort, list parts, list uploads.

The object store keeps the uploads and parts (moto's ``FakeMultipart`` in process, ``shared_uploads``
over Redis) and assembles the object on completion (checking part ETags, order and the 5 MiB minimum
for all parts but the last, as S3: ``storage/uploads.py``); the result is stored through the store's
``put`` so it is served, listed and journaled like any other object, with S3's multipart ETag
(``"<md5 of the part md5s>-<count>"``).

Errors are S3's: unknown upload id (or one for another key) 404 ``NoSuchUpload`` before any body
byte is read, so a presigned UploadPart URL never stores a whole object; ``partNumber`` outside
1..10000 400 ``InvalidArgument``; a broken ``CompleteMultipartUpload`` body 400 ``MalformedXML``;
parts out of order 400 ``InvalidPartOrder``; unknown part or ETag 400 ``InvalidPart``; a small
part 400 ``EntityTooSmall``.
"""

from __future__ import annotations

from typing import Any
from xml.etree import ElementTree

from starlette.requests import Request
from starlette.responses import Response

from mock_server.storage.api_auth import element, read_body, root, sandbox_of, timestamp, xml_response
from mock_server.storage.s3_errors import InvalidArgument, S3Error
from mock_server.storage.uploads import NoSuchUpload

__all__ = ["NoSuchUpload", "dispatch", "list_uploads"]

MAX_PART = 5 * 1024**3
MAX_COMPLETE_BODY = 1024 * 1024


class MalformedXML(S3Error):
    code = "MalformedXML"
    default_message = (
        "The XML you provided was not well-formed or did not validate against our published schema"
    )


class InvalidPartOrder(S3Error):
    code = "InvalidPartOrder"
    default_message = (
        "The list of parts was not in ascending order. "
        "The parts list must be specified in order by part number."
    )


async def dispatch(request: Request, bucket: str, key: str, params: dict[str, str], auth: Any) -> Response:
    """Route an object request carrying ``?uploads`` or ``?uploadId`` to its operation."""
    method = request.method
    if method == "POST" and "uploads" in params:
        return _create(request, bucket, key)
    upload_id = params.get("uploadId", "")
    if method == "PUT" and "uploadId" in params:
        return await _upload_part(request, bucket, key, upload_id, params, auth)
    if method == "POST" and "uploadId" in params:
        return await _complete(request, bucket, key, upload_id, auth)
    if method == "DELETE" and "uploadId" in params:
        sandbox_of(request).storage.objects.abort_upload(bucket, key, upload_id)
        return Response(status_code=204)
    if method in ("GET", "HEAD") and "uploadId" in params:
        return _list_parts(request, bucket, key, upload_id, params)
    raise S3Error("This multipart upload request is not valid.")


def _create(request: Request, bucket: str, key: str) -> Response:
    sandbox = sandbox_of(request)
    upload = sandbox.storage.objects.create_upload(
        bucket,
        key,
        request.headers.get("content-type", "binary/octet-stream"),
        {name[11:]: value for name, value in request.headers.items() if name.startswith("x-amz-meta-")},
        sandbox.clock.now(),
    )
    result = root("InitiateMultipartUploadResult")
    element(result, "Bucket", bucket)
    element(result, "Key", key)
    element(result, "UploadId", upload.id)
    return xml_response(result)


async def _upload_part(
    request: Request, bucket: str, key: str, upload_id: str, params: dict[str, str], auth: Any
) -> Response:
    raw = params.get("partNumber", "")
    if not raw.isdigit() or not 1 <= int(raw) <= 10000:
        raise InvalidArgument(
            "Part number must be an integer between 1 and 10000, inclusive",
            ArgumentName="partNumber",
            ArgumentValue=raw,
        )
    objects = sandbox_of(request).storage.objects
    objects.upload_of(bucket, key, upload_id)  # 404 before any body byte is read
    body = await read_body(request, auth, MAX_PART)
    part = objects.put_part(bucket, key, upload_id, int(raw), body, sandbox_of(request).clock.now())
    return Response(status_code=200, headers={"ETag": part.etag})


def _parts_of(document: bytes) -> list[tuple[int, str]]:
    try:
        tree = ElementTree.fromstring(document)
    except ElementTree.ParseError:
        raise MalformedXML() from None
    parts: list[tuple[int, str]] = []
    for part in tree:
        fields = {child.tag.rsplit("}", 1)[-1]: (child.text or "").strip() for child in part}
        if part.tag.rsplit("}", 1)[-1] != "Part" or not fields.get("PartNumber", "").isdigit():
            raise MalformedXML()
        parts.append((int(fields["PartNumber"]), fields.get("ETag", "")))
    if not parts:
        raise MalformedXML()
    if [n for n, _ in parts] != sorted(n for n, _ in parts):
        raise InvalidPartOrder()
    return parts


async def _complete(request: Request, bucket: str, key: str, upload_id: str, auth: Any) -> Response:
    sandbox = sandbox_of(request)
    objects = sandbox.storage.objects
    objects.upload_of(bucket, key, upload_id)
    body = await read_body(request, auth, MAX_COMPLETE_BODY)
    try:
        parts = _parts_of(body.read())
    finally:
        body.close()
    info = objects.complete_upload(bucket, key, upload_id, parts, sandbox.clock.now())
    result = root("CompleteMultipartUploadResult")
    element(result, "Location", f"{sandbox.base_url(request)}/s3/{bucket}/{key}")
    element(result, "Bucket", bucket)
    element(result, "Key", key)
    element(result, "ETag", info.etag)
    return xml_response(result)


def _list_parts(request: Request, bucket: str, key: str, upload_id: str, params: dict[str, str]) -> Response:
    upload = sandbox_of(request).storage.objects.parts_of(bucket, key, upload_id)
    marker = (
        int(params.get("part-number-marker", "0") or 0)
        if params.get("part-number-marker", "0").isdigit()
        else 0
    )
    max_parts = int(params["max-parts"]) if params.get("max-parts", "").isdigit() else 1000
    numbers = [part for part in upload if part.number > marker]
    shown, truncated = numbers[:max_parts], len(numbers) > max_parts
    result = root("ListPartsResult")
    for name, value in (
        ("Bucket", bucket),
        ("Key", key),
        ("UploadId", upload_id),
        ("PartNumberMarker", marker),
        ("NextPartNumberMarker", shown[-1].number if shown else 0),
        ("MaxParts", max_parts),
        ("IsTruncated", "true" if truncated else "false"),
        ("StorageClass", "STANDARD"),
    ):
        element(result, name, value)
    for part in shown:
        entry = element(result, "Part")
        element(entry, "PartNumber", part.number)
        element(entry, "LastModified", timestamp(part.modified))
        element(entry, "ETag", part.etag)
        element(entry, "Size", part.size)
    return xml_response(result)


def list_uploads(request: Request, bucket: str, params: dict[str, str]) -> Response:
    """ListMultipartUploads (``GET /<bucket>?uploads``), optionally filtered by ``prefix``."""
    uploads = sandbox_of(request).storage.objects.uploads_of(bucket)
    prefix = params.get("prefix", "")
    result = root("ListMultipartUploadsResult")
    for name, value in (
        ("Bucket", bucket),
        ("KeyMarker", ""),
        ("UploadIdMarker", ""),
        ("MaxUploads", 1000),
        ("IsTruncated", "false"),
    ):
        element(result, name, value)
    for upload in uploads:
        if not upload.key.startswith(prefix):
            continue
        entry = element(result, "Upload")
        element(entry, "Key", upload.key)
        element(entry, "UploadId", upload.id)
        element(entry, "StorageClass", "STANDARD")
        element(entry, "Initiated", timestamp(upload.initiated_at))
    return xml_response(result)
