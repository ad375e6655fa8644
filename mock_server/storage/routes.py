"""The endpoints issued URLs point at: presigned PUT/GET, browser POST form, signed download.

Each handler verifies first (signature, expiry, policy, limits), then streams into or out of the
object store, and answers exactly as S3 does, errors in S3's XML.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, quote

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from mock_server.core.bodies import SpooledBody, declared_length, read_capped
from mock_server.core.errors import BodyTooLarge, MalformedBody
from mock_server.core.multipart import FieldNotUtf8, Limits, MultipartForm, boundary_of, parse_multipart
from mock_server.core.requests import sandbox_of as _request_sandbox
from mock_server.core.sandbox import Sandbox
from mock_server.core.vendor import Vendor
from mock_server.storage import (
    api_auth,
    checksums,
    cors,
    object_headers,
    post_policy,
    s3_api,
    signed_urls,
    sigv4,
)
from mock_server.storage.answers import error_for_status, render_error, s3_response_headers
from mock_server.storage.grants import UploadGrant
from mock_server.storage.moto_backend import import_moto
from mock_server.storage.object_reads import GCS_OVERRIDES, object_response
from mock_server.storage.s3_errors import (
    ERRORS_BY_STATUS,
    AccessDenied,
    EntityTooLarge,
    IncompleteBody,
    InvalidArgument,
    InvalidRequest,
    KeyTooLongError,
    MalformedPOSTRequest,
    MissingContentLength,
    NoSuchBucket,
    NotImplementedHeader,
    PreconditionFailed,
    S3Error,
)
from mock_server.storage.service import DOWNLOAD_PREFIX, STORAGE_PREFIX, upload_cap

POST_FORM_LIMITS = Limits(
    max_parts=1000, max_field_bytes=64 * 1024, stop_after_first_file=True, file_field="file"
)
MAX_KEY_BYTES = 1024


def _sandbox(request: Request) -> Sandbox:
    return _request_sandbox(request)


def _raw_path(request: Request) -> str:
    raw = request.scope.get("raw_path")
    return raw.decode("latin-1").split("?", 1)[0] if raw else quote(request.scope["path"])


def _query(request: Request) -> str:
    return request.scope.get("query_string", b"").decode("latin-1")


def _require_bucket(sandbox: Sandbox, bucket: str) -> None:
    if not sandbox.storage.objects.has_bucket(bucket):
        raise NoSuchBucket(BucketName=bucket)


def _check_key(key: str) -> None:
    """Raises: KeyTooLongError for a key over S3's 1024 UTF-8 bytes."""
    size = len(key.encode("utf-8", "surrogatepass"))
    if size > MAX_KEY_BYTES:
        raise KeyTooLongError(Size=size, MaxSizeAllowed=MAX_KEY_BYTES)


def _verify_query_auth(request: Request, method: str) -> tuple[sigv4.VerifiedPresign, UploadGrant | None]:
    """The verified URL and the limits signed into it (None: a URL without them).

    Raises: the S3 error for a missing, malformed, mismatched or expired presigned URL, or one the
    sandbox issued whose limits are no longer known.
    """
    sandbox = _sandbox(request)
    _check_key(request.path_params["key"])
    if "authorization" in request.headers:
        return api_auth.authenticate(request), None  # type: ignore[return-value]
    # the first of a repeated parameter, as the signature check reads it
    params = dict(reversed(parse_qsl(_query(request), keep_blank_values=True)))
    if not any(name.lower().startswith("x-amz-") for name in params):
        if "AWSAccessKeyId" in params or "Signature" in params:
            raise InvalidRequest(sigv4.SIGV2_REFUSED)
        raise AccessDenied()
    grant = sandbox.storage.grant_in(params)
    verified = sigv4.verify_presigned(
        method=method,
        path=_raw_path(request),
        query_string=_query(request),
        headers=request.headers,
        now=sandbox.clock.now(),
        credentials=sandbox.storage.known_credentials,
        signed_host=grant.host if grant else None,
    )
    sandbox.storage.check_grant(params, grant, verified.expires_at)
    return verified, grant


def _declared_length(request: Request) -> int:
    """Raises: NotImplemented for a chunked body S3 cannot take; MissingContentLength otherwise."""
    declared = declared_length(request.headers.get("content-length"))
    if declared is not None:
        return declared
    chunked = "chunked" in request.headers.get("transfer-encoding", "").lower()
    if chunked and "aws-chunked" not in request.headers.get("content-encoding", "").lower():
        raise NotImplementedHeader(Header="Transfer-Encoding")
    raise MissingContentLength()


async def put_object(request: Request) -> Response:
    sandbox, storage = _sandbox(request), _sandbox(request).storage
    bucket, key = request.path_params["bucket"], request.path_params["key"]
    verified, grant = _verify_query_auth(request, "PUT")
    declared = _declared_length(request)
    integrity = checksums.expect(request.headers)
    stored = object_headers.stored_headers(request.headers.items())
    _require_bucket(sandbox, bucket)
    storage.claim(verified.signature, grant, verified.expires_at)
    cap = upload_cap(grant)
    succeeded = False
    try:
        body = await _read_body(request, cap, declared, integrity)
        info = storage.objects.put(
            bucket,
            key,
            body,
            content_type=request.headers.get("content-type"),
            uploaded_at=sandbox.clock.now(),
            metadata=object_headers.metadata(stored),
            headers=stored,
            checksums=integrity.stored(body),
        )
        succeeded = True
    finally:
        storage.finish(verified.signature, grant, succeeded=succeeded)
    return Response(status_code=200, headers={"ETag": info.etag, **_echoed(integrity, info.checksums)})


async def _read_body(
    request: Request, cap: int, declared: int, integrity: checksums.Integrity
) -> SpooledBody:
    """Raises: EntityTooLarge, IncompleteBody, BadDigest (nothing is stored then)."""
    try:
        body = await read_capped(request.stream(), cap, declared, integrity.hashers)
    except BodyTooLarge as exc:
        raise EntityTooLarge(ProposedSize=exc.declared or exc.received, MaxSizeAllowed=cap) from exc
    except MalformedBody as exc:
        raise IncompleteBody() from exc
    try:
        integrity.verify(body)
    except S3Error:
        body.close()
        raise
    return body


def _echoed(integrity: checksums.Integrity, stored: dict[str, str]) -> dict[str, str]:
    # S3 answers an upload that sent a checksum with the checksum it verified.
    return checksums.response_headers(stored) if integrity.supplied else {}


async def get_object(request: Request) -> Response:
    _verify_query_auth(request, request.method)
    return _object_response(request)


async def download_object(request: Request) -> Response:
    sandbox = _sandbox(request)
    signed_urls.verify_download_url(
        method=request.method,
        path=_raw_path(request),
        query_string=_query(request),
        host=request.headers.get("host", ""),
        now=sandbox.clock.now(),
        credentials=sandbox.storage.known_credentials,
        headers=request.headers,
    )
    return _object_response(request, gcs=True)


def _object_response(request: Request, gcs: bool = False) -> Response:
    bucket, key = request.path_params["bucket"], request.path_params["key"]
    sandbox = _sandbox(request)
    _require_bucket(sandbox, bucket)
    if gcs:  # GCS honours two response-* overrides and answers with its own hashes, not S3's
        return object_response(
            request,
            sandbox.storage.objects,
            bucket,
            key,
            now=sandbox.clock.now(),
            allowed_overrides=GCS_OVERRIDES,
            checksum_headers=False,
        )
    return object_response(request, sandbox.storage.objects, bucket, key, now=sandbox.clock.now())


async def post_object(request: Request) -> Response:
    sandbox = _sandbox(request)
    bucket = request.path_params["bucket"]
    content_type = request.headers.get("content-type", "")
    if not content_type.lower().startswith("multipart/form-data"):
        raise PreconditionFailed(Condition="Bucket POST must be of the enclosure-type multipart/form-data")
    try:
        boundary_of(content_type)
    except MalformedBody as exc:
        raise MalformedPOSTRequest() from exc
    verify = _PolicyCheck(sandbox, bucket)
    try:
        form = await parse_multipart(request.stream(), content_type, POST_FORM_LIMITS, verify.before_file)
    except BodyTooLarge as exc:
        limit = verify.grant.max_size if verify.grant else exc.limit
        raise EntityTooLarge(ProposedSize=exc.received, MaxSizeAllowed=limit) from exc
    except FieldNotUtf8 as exc:  # as S3 words it, e.g. binary content in a part not named "file"
        raise InvalidArgument(
            "Malformed Unicode code sequence in the field.", ArgumentName="formField"
        ) from exc
    except MalformedBody as exc:
        raise MalformedPOSTRequest() from exc
    try:
        return _store_posted(request, sandbox, bucket, form, verify)
    finally:
        form.close()


class _PolicyCheck:
    """Verifies the form fields once the file part starts, before any file byte is read."""

    def __init__(self, sandbox: Sandbox, bucket: str) -> None:
        self.sandbox = sandbox
        self.bucket = bucket
        self.grant: post_policy.PostPolicyGrant | None = None
        self.integrity: checksums.Integrity | None = None

    def verify(self, form: MultipartForm, file_name: str | None) -> post_policy.PostPolicyGrant:
        if self.integrity is None and file_name is not None:
            # A malformed promise is refused before the signature, as for a PUT's headers.
            self.integrity = checksums.expect({n.lower(): v for n, v in form.fields}, content_md5=False)
        self.grant = post_policy.verify_post_fields(
            bucket=self.bucket,
            fields=form.fields,
            file_name=file_name,
            now=self.sandbox.clock.now(),
            credentials=self.sandbox.storage.known_credentials,
            region=self.sandbox.settings.s3_region,
            fields_bytes=form.bytes_before_first_file,
        )
        return self.grant

    def before_file(self, form: MultipartForm, name: str, file_name: str, _type: str | None) -> int | None:
        if name.lower() != "file":
            raise InvalidArgument(
                "POST requires exactly one file upload per request.", ArgumentName="file", ArgumentValue="0"
            )
        _require_bucket(self.sandbox, self.bucket)
        grant = self.verify(form, file_name)
        _check_key(grant.key)
        assert self.integrity is not None
        form.file_hashers = self.integrity.hashers
        return grant.max_size


def _store_posted(
    request: Request, sandbox: Sandbox, bucket: str, form: MultipartForm, verify: _PolicyCheck
) -> Response:
    if not form.files:
        verify.verify(form, None)  # raises the missing-field or missing-file error S3 gives
    grant, integrity = verify.grant, verify.integrity
    assert grant is not None and integrity is not None
    body = form.files[0].body
    post_policy.check_size(grant, body.size)
    integrity.verify(body)
    stored = object_headers.stored_headers(grant.fields)
    info = sandbox.storage.objects.put(
        bucket,
        grant.key,
        body,
        content_type=grant.content_type,
        uploaded_at=sandbox.clock.now(),
        metadata=object_headers.metadata(stored),
        headers=stored,
        checksums=integrity.stored(body),
    )
    location_base = f"{sandbox.base_url(request)}{STORAGE_PREFIX}/{bucket}"
    status, headers, payload = post_policy.success_response(
        grant, location_base=location_base, bucket=bucket, etag_hex=info.etag.strip('"')
    )
    media_type = "application/xml" if payload else None
    return Response(payload, status_code=status, headers=headers, media_type=media_type)


FIXTURES_SCHEMA = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "buckets": {
            "description": "extra buckets to create, e.g. for clients presigning with boto3 themselves",
            "type": "array",
            "items": {"type": "string", "pattern": "^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$"},
        },
        "cors": {
            "description": "S3 CORSRule lists per bucket (vendor buckets: VENDOR_BUCKET_RULE)",
            "type": "object",
            "additionalProperties": {"type": "array", "items": cors.RULE_SCHEMA},
        },
    },
}


def load_fixtures(sandbox: Sandbox, section: Mapping[str, Any]) -> None:
    for bucket in section.get("buckets", []):
        sandbox.storage.objects.ensure_bucket(bucket)
    for bucket in sandbox.storage.objects.bucket_names():  # (re)loading forgets rules set at run time
        cors.set_rules(sandbox.storage.objects, bucket, [])
    for vendor in sandbox.vendors.values():
        for bucket in vendor.buckets:
            cors.set_rules(sandbox.storage.objects, bucket, [cors.VENDOR_BUCKET_RULE])
    for bucket, rules in section.get("cors", {}).items():
        sandbox.storage.objects.ensure_bucket(bucket)
        cors.set_rules(sandbox.storage.objects, bucket, rules)


s3_routes = [
    *s3_api.routes,
    Route("/{bucket}/{key:path}", put_object, methods=["PUT"], name="storage:putObject"),
    Route("/{bucket}/{key:path}", get_object, methods=["GET", "HEAD"], name="storage:getObject"),
    Route("/{bucket}", post_object, methods=["POST"], name="storage:postObject"),
]
download_routes = [
    Route("/{bucket}/{key:path}", download_object, methods=["GET", "HEAD"], name="storage:downloadObject"),
]

vendor = Vendor(
    name="storage",
    title="Embedded S3 (presigned PUT/GET, POST policy, signed downloads)",
    routes=[*s3_routes, *download_routes],
    render_error=render_error,
    error_for_status=error_for_status,
    response_headers=s3_response_headers,
    error_statuses=frozenset(ERRORS_BY_STATUS),
    mounts={STORAGE_PREFIX: s3_routes, DOWNLOAD_PREFIX: download_routes},
    magic_scenarios=Path(__file__).with_name("magic-defaults.yaml"),
    fixtures_schema=FIXTURES_SCHEMA,
    load_fixtures=load_fixtures,
    warm_up=import_moto,
)
