"""The S3 REST API on the sandbox buckets, path-style under ``/s3``, for header-signed requests.

What boto3, the aws CLI and the SDKs send with ``Authorization: AWS4-HMAC-SHA256 ...``:
ListBuckets (``GET /``), HeadBucket, ListObjects v1/v2, GetBucketLocation, Put/Get/DeleteBucketCors,
CreateBucket, PutObject, CopyObject, DeleteObject, DeleteObjects, the multipart operations
(``multipart_upload``)
and CORS preflights (``OPTIONS``). GetObject/HeadObject are the object routes of ``routes`` (they
accept header auth as well as presigned URLs). Presigned URLs work on these operations too, and
presigned UploadPart follows S3 (unknown upload id: 404 ``NoSuchUpload``).

Object, listing and multipart semantics are moto's (``ObjectStore`` wraps its backend); this module
checks authentication first, then answers with S3's XML (built with ElementTree) and S3's errors.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any
from urllib.parse import quote, unquote
from xml.etree import ElementTree

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Match, Route
from starlette.types import Scope

from mock_server.core.bodies import BodyWriter
from mock_server.storage import checksums, cors, multipart_upload, object_headers
from mock_server.storage.api_auth import (
    S3_NS,
    UNEMULATED,
    authenticate,
    element,
    query,
    read_body,
    require_bucket,
    root,
    sandbox_of,
    timestamp,
    unemulated,
    xml_response,
)
from mock_server.storage.moto_backend import backend_continuation_token, continuation_token
from mock_server.storage.s3_errors import InvalidArgument, InvalidRequest, S3Error

S3_MAX_OBJECT = 5 * 1024**3
OWNER_ID = "75aa57f09aa0c8caeab4f8c24e99d10f8e7faeebf76c078efc7c6caea54ba06a"
MAX_KEYS = 1000
BUCKET_NAME = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
# Query parameters that make an object request an S3 API operation rather than a plain presigned one.
OBJECT_SUBRESOURCES = frozenset({"uploadId", "uploads"})


class NotImplementedS3(S3Error):
    status = 501
    code = "NotImplemented"
    default_message = "A header you provided implies functionality that is not implemented"


class InvalidBucketName(S3Error):
    code = "InvalidBucketName"
    default_message = "The specified bucket is not valid."


class ApiRoute(Route):
    """A route that takes a request only when ``wanted(scope)`` says it is an S3 API request."""

    def __init__(
        self,
        path: str,
        endpoint: Callable[..., Any],
        *,
        methods: list[str],
        name: str,
        wanted: Callable[[Scope], bool],
    ) -> None:
        super().__init__(path, endpoint, methods=methods, name=name)
        self.wanted = wanted

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        match, child = super().matches(scope)
        if match is not Match.NONE and not self.wanted(scope):
            return Match.NONE, {}
        return match, child


def _header_signed(scope: Scope) -> bool:
    return any(name == b"authorization" for name, _ in scope.get("headers", []))


def _object_api_request(scope: Scope) -> bool:
    method = scope.get("method")
    if method in ("OPTIONS", "POST", "DELETE"):
        return True
    names = {part.split(b"=", 1)[0].decode("latin-1") for part in scope.get("query_string", b"").split(b"&")}
    if names & (OBJECT_SUBRESOURCES | UNEMULATED):
        return True
    return method == "PUT" and _header_signed(scope)


def _always(_scope: Scope) -> bool:
    return True


def _delete_objects_request(scope: Scope) -> bool:
    return b"delete" in {part.split(b"=", 1)[0] for part in scope.get("query_string", b"").split(b"&")}


# -- service and bucket operations --------------------------------------------------------------
async def list_buckets(request: Request) -> Response:
    authenticate(request)
    objects = sandbox_of(request).storage.objects
    result = root("ListAllMyBucketsResult")
    owner = element(result, "Owner")
    element(owner, "ID", OWNER_ID)
    element(owner, "DisplayName", "sandbox")
    buckets = element(result, "Buckets")
    for name in objects.bucket_names():
        bucket = element(buckets, "Bucket")
        element(bucket, "Name", name)
        element(bucket, "CreationDate", timestamp(objects.moto_bucket(name).creation_date))
    return xml_response(result)


async def bucket_operation(request: Request) -> Response:
    bucket, params = request.path_params["bucket"], query(request)
    if request.method == "OPTIONS":
        return _preflight(request, bucket, "BUCKET")
    auth = authenticate(request)
    sandbox = sandbox_of(request)
    if request.method == "PUT" and not params:
        if not BUCKET_NAME.fullmatch(bucket):
            raise InvalidBucketName(BucketName=bucket)
        sandbox.storage.objects.ensure_bucket(bucket)  # CreateBucket; re-creating one's own bucket is fine
        return Response(status_code=200, headers={"Location": f"/{bucket}"})
    require_bucket(sandbox, bucket)
    if name := unemulated(params):
        raise NotImplementedS3(f"The {name} subresource is not emulated by the sandbox")
    if "cors" in params:
        return await _bucket_cors(request, bucket, auth)
    handler = _BUCKET_GETS.get(next((p for p in _BUCKET_GETS if p in params), ""))
    if request.method == "HEAD":
        region = sandbox.settings.s3_region
        return Response(status_code=200, headers={"x-amz-bucket-region": region})
    if request.method == "GET" and handler is not None:
        return handler(request, bucket, params)
    if request.method == "GET":
        return _list_objects(request, bucket, params)
    raise NotImplementedS3("This bucket operation is not emulated by the sandbox")


async def delete_objects(request: Request) -> Response:
    """DeleteObjects (``POST /<bucket>?delete``): up to 1000 keys; missing keys count as deleted."""
    bucket = request.path_params["bucket"]
    auth = authenticate(request)
    objects = sandbox_of(request).storage.objects
    require_bucket(sandbox_of(request), bucket)
    body = await read_body(request, auth, 2 * 1024 * 1024)
    try:
        document = ElementTree.fromstring(body.read())
    except ElementTree.ParseError:
        raise cors.MalformedXML() from None
    finally:
        body.close()
    keys = [
        (entry.findtext(f"{{{S3_NS}}}Key") or entry.findtext("Key") or "")
        for entry in document
        if entry.tag.rsplit("}", 1)[-1] == "Object"
    ]
    quiet = (document.findtext(f"{{{S3_NS}}}Quiet") or document.findtext("Quiet") or "").lower() == "true"
    if not keys or len(keys) > MAX_KEYS:
        raise cors.MalformedXML()
    result = root("DeleteResult")
    for key in keys:
        objects.delete(bucket, key)
        if not quiet:
            element(element(result, "Deleted"), "Key", key)
    return xml_response(result)


def _location(request: Request, bucket: str, params: dict[str, str]) -> Response:
    region = sandbox_of(request).settings.s3_region
    result = root("LocationConstraint")
    result.text = None if region == "us-east-1" else region
    return xml_response(result)


_BUCKET_GETS: dict[str, Callable[[Request, str, dict[str, str]], Response]] = {
    "location": _location,
    "uploads": multipart_upload.list_uploads,
}


async def _bucket_cors(request: Request, bucket: str, auth: object) -> Response:
    objects = sandbox_of(request).storage.objects
    if request.method == "PUT":
        body = await read_body(request, auth, 64 * 1024)  # type: ignore[arg-type]
        try:
            cors.set_rules(objects, bucket, cors.parse_configuration(body.read()))
        finally:
            body.close()
        return Response(status_code=200)
    if request.method == "DELETE":
        cors.set_rules(objects, bucket, [])
        return Response(status_code=204)
    rules = cors.rules_of(objects, bucket)
    if not rules:
        raise cors.NoSuchCORSConfiguration(BucketName=bucket)
    return Response(cors.render_configuration(rules), media_type="application/xml")


def _list_objects(request: Request, bucket: str, params: dict[str, str]) -> Response:
    objects = sandbox_of(request).storage.objects
    v2 = params.get("list-type") == "2"
    if "list-type" in params and not v2:
        raise InvalidArgument(
            "Invalid List Type specified", ArgumentName="list-type", ArgumentValue=params["list-type"]
        )
    raw_max = params.get("max-keys", str(MAX_KEYS))
    if not raw_max.isdigit():
        raise InvalidArgument(
            "Provided max-keys not an integer or within integer range",
            ArgumentName="max-keys",
            ArgumentValue=raw_max,
        )
    url = params.get("encoding-type") == "url"
    encode = (lambda text: quote(text, safe="/")) if url else (lambda text: text)
    prefix, delimiter = params.get("prefix", ""), params.get("delimiter") or None
    max_keys = min(int(raw_max), MAX_KEYS)
    backend, moto_bucket = objects.backend, objects.moto_bucket(bucket)
    result = root("ListBucketResult")
    element(result, "Name", bucket)
    element(result, "Prefix", encode(prefix))
    if v2:
        token = params.get("continuation-token")
        inner = None if token is None else backend_continuation_token(backend, bucket, token)
        entries, truncated, next_token = backend.list_objects_v2(
            moto_bucket, prefix, delimiter, inner, params.get("start-after"), max_keys
        )
        if token:
            element(result, "ContinuationToken", token)
        if params.get("start-after"):
            element(result, "StartAfter", encode(params["start-after"]))
        element(result, "KeyCount", len(entries))
    else:
        keys, folders, truncated, next_token = backend.list_objects(
            moto_bucket, prefix, delimiter, params.get("marker"), max_keys
        )
        entries = sorted([*keys, *folders], key=lambda e: e if isinstance(e, str) else e.name)
        element(result, "Marker", encode(params.get("marker", "")))
    element(result, "MaxKeys", max_keys)
    if delimiter:
        element(result, "Delimiter", encode(delimiter))
    if url:
        element(result, "EncodingType", "url")
    element(result, "IsTruncated", "true" if truncated else "false")
    if truncated and v2:
        element(result, "NextContinuationToken", continuation_token(bucket, next_token))
    elif truncated and delimiter:
        last = entries[-1]
        element(result, "NextMarker", encode(last if isinstance(last, str) else last.name))
    for entry in entries:
        _list_entry(result, objects, bucket, entry, encode)
    return xml_response(result)


def _list_entry(result: Any, objects: Any, bucket: str, entry: Any, encode: Callable[[str], str]) -> None:
    if isinstance(entry, str):  # a common prefix, else moto's FakeKey
        element(element(result, "CommonPrefixes"), "Prefix", encode(entry))
        return
    info = getattr(entry, "info", None) or objects.head(bucket, entry.name)  # the shared store's has it
    if info is None:
        return
    contents = element(result, "Contents")
    element(contents, "Key", encode(entry.name))
    element(contents, "LastModified", timestamp(info.uploaded_at))
    element(contents, "ETag", info.etag)
    element(contents, "Size", info.size)
    element(contents, "StorageClass", "STANDARD")


# -- object operations ----------------------------------------------------------------------------
async def object_operation(request: Request) -> Response:
    bucket, key, params = request.path_params["bucket"], request.path_params["key"], query(request)
    if request.method == "OPTIONS":
        return _preflight(request, bucket, "OBJECT")
    auth = authenticate(request)
    require_bucket(sandbox_of(request), bucket)
    if name := unemulated(params):
        raise NotImplementedS3(f"The {name} subresource is not emulated by the sandbox")
    if "uploads" in params or "uploadId" in params:
        return await multipart_upload.dispatch(request, bucket, key, params, auth)
    if request.method == "PUT" and "x-amz-copy-source" in request.headers:
        return _copy_object(request, bucket, key)
    if request.method == "PUT":
        return await _put_object(request, bucket, key, auth)
    if request.method == "DELETE":
        sandbox_of(request).storage.objects.delete(bucket, key)
        return Response(status_code=204)
    raise InvalidRequest("A POST request on an object needs ?uploads or ?uploadId.")


async def _put_object(request: Request, bucket: str, key: str, auth: Any) -> Response:
    """PutObject: the same stored headers and integrity checks (Content-MD5, x-amz-checksum-*) as a
    presigned PUT. Raises: InvalidDigest, InvalidRequest, BadDigest, MetadataTooLarge (nothing stored)."""
    sandbox = sandbox_of(request)
    integrity = checksums.expect_trailer(request.headers, checksums.expect(request.headers))
    stored = object_headers.stored_headers(request.headers.items())
    body = await read_body(request, auth, S3_MAX_OBJECT, integrity.hashers, trailers := {})
    try:
        checksums.trailer_arrived(integrity, trailers).verify(body)
    except S3Error:
        body.close()
        raise
    info = sandbox.storage.objects.put(
        bucket,
        key,
        body,
        content_type=request.headers.get("content-type"),
        uploaded_at=sandbox.clock.now(),
        metadata=object_headers.metadata(stored),
        headers=stored,
        checksums=integrity.stored(body),
    )
    echoed = checksums.response_headers(info.checksums) if integrity.supplied else {}
    return Response(status_code=200, headers={"ETag": info.etag, **echoed})


def _copy_object(request: Request, bucket: str, key: str) -> Response:
    sandbox = sandbox_of(request)
    objects = sandbox.storage.objects
    source = unquote(request.headers["x-amz-copy-source"].split("?", 1)[0]).lstrip("/")
    source_bucket, _, source_key = source.partition("/")
    if not source_key:
        raise InvalidArgument(
            "Copy Source must mention the source bucket and key: sourcebucket/sourcekey",
            ArgumentName="x-amz-copy-source",
            ArgumentValue=source,
        )
    require_bucket(sandbox, source_bucket)
    info, chunks = objects.open(source_bucket, source_key)
    writer = BodyWriter()
    for chunk in chunks:
        writer.write(chunk)
    replace = request.headers.get("x-amz-metadata-directive", "COPY").upper() == "REPLACE"
    stored = object_headers.stored_headers(request.headers.items())
    copied = objects.put(
        bucket,
        key,
        writer.finish(),
        uploaded_at=sandbox.clock.now(),
        content_type=request.headers.get("content-type") if replace else info.content_type,
        metadata=object_headers.metadata(stored) if replace else info.metadata,
        headers=stored if replace else info.headers,
    )
    result = root("CopyObjectResult")
    element(result, "LastModified", timestamp(copied.uploaded_at))
    element(result, "ETag", copied.etag)
    return xml_response(result)


def _preflight(request: Request, bucket: str, resource_type: str) -> Response:
    headers = cors.preflight(
        sandbox_of(request).storage.objects,
        bucket,
        resource_type,
        request.headers.get("origin"),
        request.headers.get("access-control-request-method"),
        request.headers.get("access-control-request-headers"),
    )
    return Response(status_code=200, headers=headers)


service_root = Route("/s3", list_buckets, methods=["GET"], name="storage:listBuckets")
routes = [
    ApiRoute("/", list_buckets, methods=["GET"], name="storage:listBuckets", wanted=_always),
    ApiRoute(
        "/{bucket}",
        delete_objects,
        methods=["POST"],
        name="storage:deleteObjects",
        wanted=_delete_objects_request,
    ),
    ApiRoute(
        "/{bucket}",
        bucket_operation,
        methods=["GET", "HEAD", "PUT", "DELETE", "OPTIONS"],
        name="storage:bucketOperation",
        wanted=_always,
    ),
    ApiRoute(
        "/{bucket}/{key:path}",
        object_operation,
        methods=["GET", "HEAD", "PUT", "POST", "DELETE", "OPTIONS"],
        name="storage:objectOperation",
        wanted=_object_api_request,
    ),
]
