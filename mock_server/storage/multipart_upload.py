"""S3 multipart uploads on moto's backend: create, upload part, complete, abort, list parts, list uploads.

moto keeps the uploads and parts (``FakeMultipart``) and assembles the object on completion
(checking part ETags, order and the 5 MiB minimum for all parts but the last, as S3); the result is
stored through ``ObjectStore.put`` so it is served, listed and journaled like any other object, with
S3's multipart ETag (``"<md5 of the part md5s>-<count>"``).

Errors are S3's: unknown upload id (or one for another key) 404 ``NoSuchUpload`` before any body
byte is read, so a presigned UploadPart URL never stores a whole object; ``partNumber`` outside
1..10000 400 ``InvalidArgument``; a broken ``CompleteMultipartUpload`` body 400 ``MalformedXML``;
parts out of order 400 ``InvalidPartOrder``; unknown part or ETag 400 ``InvalidPart``; a small
part 400 ``EntityTooSmall``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from xml.etree import ElementTree

from starlette.requests import Request
from starlette.responses import Response

from mock_server.core.bodies import BodyWriter
from mock_server.storage.api_auth import element, read_body, root, sandbox_of, timestamp, xml_response
from mock_server.storage.s3_errors import InvalidArgument, S3Error

MAX_PART = 5 * 1024**3
MAX_COMPLETE_BODY = 1024 * 1024
STATUS_OF = {"NoSuchUpload": 404}

if TYPE_CHECKING:  # moto is loaded with the first multipart upload (storage/moto_backend.py)
    from moto.core.exceptions import ServiceException
    from moto.s3.models import FakeMultipart


class NoSuchUpload(S3Error):
    status = 404
    code = "NoSuchUpload"
    default_message = (
        "The specified upload does not exist. The upload ID may be invalid, or the upload may have been "
        "aborted or completed."
    )


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


def _from_moto(exc: ServiceException) -> S3Error:
    error = S3Error(exc.message)
    error.code = exc.code
    error.status = STATUS_OF.get(exc.code, 400)
    return error


def _upload(request: Request, bucket: str, key: str, upload_id: str) -> FakeMultipart:
    moto_bucket = sandbox_of(request).storage.objects.moto_bucket(bucket)
    upload = moto_bucket.multiparts.get(upload_id)
    if upload is None or upload.key_name != key:
        raise NoSuchUpload(UploadId=upload_id)
    return upload


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
        _upload(request, bucket, key, upload_id).dispose()
        del sandbox_of(request).storage.objects.moto_bucket(bucket).multiparts[upload_id]
        return Response(status_code=204)
    if method in ("GET", "HEAD") and "uploadId" in params:
        return _list_parts(request, bucket, key, upload_id, params)
    raise S3Error("This multipart upload request is not valid.")


def _create(request: Request, bucket: str, key: str) -> Response:
    sandbox = sandbox_of(request)
    objects = sandbox.storage.objects
    from moto.s3.utils import CaseInsensitiveDict

    metadata = CaseInsensitiveDict(
        {"Content-Type": request.headers.get("content-type", "binary/octet-stream")}
    )
    upload = objects.backend.create_multipart_upload(
        objects.internal_name(bucket),
        key,
        metadata,
        "STANDARD",
        {},
        None,
        None,
        None,  # type: ignore[arg-type]
    )
    upload.initiated_at = sandbox.clock.now()  # moto stamps the wall clock; the sandbox has its own
    upload.user_metadata = {
        name[11:]: value for name, value in request.headers.items() if name.startswith("x-amz-meta-")
    }
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
    upload = _upload(request, bucket, key, upload_id)
    body = await read_body(request, auth, MAX_PART)
    part = upload.set_part(int(raw), b"")
    with part.lock:
        part._value_buffer.close()
        part._value_buffer = body.detach()
        part.contentsize = body.size
        part._etag = body.md5
    part.sandbox_modified = sandbox_of(request).clock.now()
    return Response(status_code=200, headers={"ETag": f'"{body.md5}"'})


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
    upload = _upload(request, bucket, key, upload_id)
    body = await read_body(request, auth, MAX_COMPLETE_BODY)
    try:
        parts = _parts_of(body.read())
    finally:
        body.close()
    from moto.core.exceptions import ServiceException  # loaded already: the upload is moto's

    try:
        value, etag, _ = upload.complete(iter(parts))
    except ServiceException as exc:
        raise _from_moto(exc) from exc
    writer = BodyWriter()
    writer.write(value)
    objects.put(
        bucket,
        key,
        writer.finish(),
        content_type=upload.metadata.get("Content-Type"),
        uploaded_at=sandbox.clock.now(),
        metadata=getattr(upload, "user_metadata", {}),
    )
    info = objects.set_etag(bucket, key, f'"{etag}"')
    del objects.moto_bucket(bucket).multiparts[upload_id]
    upload.dispose()
    result = root("CompleteMultipartUploadResult")
    element(result, "Location", f"{sandbox.base_url(request)}/s3/{bucket}/{key}")
    element(result, "Bucket", bucket)
    element(result, "Key", key)
    element(result, "ETag", info.etag)
    return xml_response(result)


def _list_parts(request: Request, bucket: str, key: str, upload_id: str, params: dict[str, str]) -> Response:
    upload = _upload(request, bucket, key, upload_id)
    marker = (
        int(params.get("part-number-marker", "0") or 0)
        if params.get("part-number-marker", "0").isdigit()
        else 0
    )
    max_parts = int(params["max-parts"]) if params.get("max-parts", "").isdigit() else 1000
    numbers = [n for n in upload.partlist if n > marker]
    shown, truncated = numbers[:max_parts], len(numbers) > max_parts
    result = root("ListPartsResult")
    for name, value in (
        ("Bucket", bucket),
        ("Key", key),
        ("UploadId", upload_id),
        ("PartNumberMarker", marker),
        ("NextPartNumberMarker", shown[-1] if shown else 0),
        ("MaxParts", max_parts),
        ("IsTruncated", "true" if truncated else "false"),
        ("StorageClass", "STANDARD"),
    ):
        element(result, name, value)
    for number in shown:
        part = upload.parts[number]
        entry = element(result, "Part")
        element(entry, "PartNumber", number)
        element(entry, "LastModified", timestamp(getattr(part, "sandbox_modified", upload.initiated_at)))
        element(entry, "ETag", part.etag)
        element(entry, "Size", part.contentsize)
    return xml_response(result)


def list_uploads(request: Request, bucket: str, params: dict[str, str]) -> Response:
    """ListMultipartUploads (``GET /<bucket>?uploads``), optionally filtered by ``prefix``."""
    moto_bucket = sandbox_of(request).storage.objects.moto_bucket(bucket)
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
    uploads = sorted(moto_bucket.multiparts.values(), key=lambda u: (u.key_name, u.initiated_at))
    for upload in uploads:
        if not upload.key_name.startswith(prefix):
            continue
        entry = element(result, "Upload")
        element(entry, "Key", upload.key_name)
        element(entry, "UploadId", upload.id)
        element(entry, "StorageClass", "STANDARD")
        element(entry, "Initiated", timestamp(upload.initiated_at))
    return xml_response(result)
