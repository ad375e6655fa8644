"""The endpoints issued URLs point at: presigned PUT/GET, browser POST form, signed download.

Each handler verifies first (signature, expiry, policy, limits), then streams into or out of the
object store, and answers exactly as S3 does, errors in S3's XML.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl, quote

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from mock_server.core.bodies import declared_length, read_capped
from mock_server.core.errors import BodyTooLarge, MalformedBody, SandboxError
from mock_server.core.multipart import Limits, MultipartForm, boundary_of, parse_multipart
from mock_server.core.sandbox import Sandbox
from mock_server.core.vendor import Vendor
from mock_server.storage import api_auth, cors, post_policy, s3_api, signed_urls, sigv4
from mock_server.storage.s3_errors import (
    ERRORS_BY_STATUS,
    AccessDenied,
    EntityTooLarge,
    IncompleteBody,
    InvalidArgument,
    MalformedPOSTRequest,
    MissingContentLength,
    NoSuchBucket,
    PreconditionFailed,
    S3Error,
)
from mock_server.storage.service import DOWNLOAD_PREFIX, S3_MAX_OBJECT, STORAGE_PREFIX

POST_FORM_LIMITS = Limits(max_parts=1000, max_field_bytes=64 * 1024, stop_after_first_file=True)


def _sandbox(request: Request) -> Sandbox:
    return request.app.state.sandbox


def _raw_path(request: Request) -> str:
    raw = request.scope.get("raw_path")
    return raw.decode("latin-1").split("?", 1)[0] if raw else quote(request.scope["path"])


def _query(request: Request) -> str:
    return request.scope.get("query_string", b"").decode("latin-1")


def _require_bucket(sandbox: Sandbox, bucket: str) -> None:
    if not sandbox.storage.objects.has_bucket(bucket):
        raise NoSuchBucket(BucketName=bucket)


def _verify_query_auth(request: Request, method: str) -> sigv4.VerifiedPresign:
    """Raises: the S3 error for a missing, malformed, mismatched or expired presigned URL."""
    sandbox = _sandbox(request)
    if "authorization" in request.headers:
        return api_auth.authenticate(request)  # type: ignore[return-value]
    params = dict(parse_qsl(_query(request), keep_blank_values=True))
    if not any(name.lower().startswith("x-amz-") for name in params):
        raise AccessDenied()
    grant = sandbox.storage.grant_for(params.get("X-Amz-Signature", ""))
    verified = sigv4.verify_presigned(
        method=method,
        path=_raw_path(request),
        query_string=_query(request),
        headers=request.headers,
        now=sandbox.clock.now(),
        credentials=sandbox.storage.known_credentials,
        signed_host=grant.host if grant else None,
    )
    sandbox.storage.check_grant_known(params, grant)
    return verified


async def put_object(request: Request) -> Response:
    sandbox, storage = _sandbox(request), _sandbox(request).storage
    bucket, key = request.path_params["bucket"], request.path_params["key"]
    verified = _verify_query_auth(request, "PUT")
    declared = declared_length(request.headers.get("content-length"))
    if declared is None:
        raise MissingContentLength()
    _require_bucket(sandbox, bucket)
    grant = storage.claim(verified.signature)
    cap = grant.max_bytes if grant and grant.max_bytes is not None else S3_MAX_OBJECT
    succeeded = False
    try:
        body = await read_capped(request.stream(), cap, declared)
        info = storage.objects.put(
            bucket,
            key,
            body,
            content_type=request.headers.get("content-type"),
            uploaded_at=sandbox.clock.now(),
        )
        succeeded = True
    except BodyTooLarge as exc:
        raise EntityTooLarge(ProposedSize=exc.declared or exc.received, MaxSizeAllowed=cap) from exc
    except MalformedBody as exc:
        raise IncompleteBody() from exc
    finally:
        storage.finish(verified.signature, succeeded=succeeded)
    return Response(status_code=200, headers={"ETag": info.etag})


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
    return _object_response(request)


def _object_response(request: Request) -> Response:
    bucket, key = request.path_params["bucket"], request.path_params["key"]
    _require_bucket(_sandbox(request), bucket)
    info, chunks = _sandbox(request).storage.objects.open(bucket, key)
    # The stored type goes back verbatim (media_type= would append "; charset=utf-8" to text/*).
    headers = {"ETag": info.etag, "Content-Length": str(info.size), "Content-Type": info.content_type}
    disposition = request.query_params.get("response-content-disposition")
    if disposition:
        headers["Content-Disposition"] = disposition
    if request.method == "HEAD":
        return Response(status_code=200, headers=headers)
    return StreamingResponse(chunks, status_code=200, headers=headers)


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

    def verify(self, form: MultipartForm, file_name: str | None) -> post_policy.PostPolicyGrant:
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
        return self.verify(form, file_name).max_size


def _store_posted(
    request: Request, sandbox: Sandbox, bucket: str, form: MultipartForm, verify: _PolicyCheck
) -> Response:
    if not form.files:
        verify.verify(form, None)  # raises the missing-field or missing-file error S3 gives
    grant = verify.grant
    assert grant is not None
    body = form.files[0].body
    post_policy.check_size(grant, body.size)
    info = sandbox.storage.objects.put(
        bucket, grant.key, body, content_type=grant.content_type, uploaded_at=sandbox.clock.now()
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


def render_error(request: Request, exc: SandboxError) -> Response:
    """S3's XML error body with matching ``x-amz-request-id``/``x-amz-id-2`` headers."""
    error = exc if isinstance(exc, S3Error) else error_for_status(exc.status, exc.message)
    request_id = getattr(request.state, "correlation_id", "") or "0"
    host_id = _sandbox(request).ids.token(56) if hasattr(request.app.state, "sandbox") else ""
    headers = {"x-amz-request-id": request_id, "x-amz-id-2": host_id, **error.headers}
    return Response(
        error.to_xml(request_id, host_id),
        status_code=error.status,
        headers=headers,
        media_type="application/xml",
    )


def error_for_status(status: int, message: str | None) -> S3Error:
    error_class = ERRORS_BY_STATUS.get(status, S3Error)
    error = error_class(message)
    error.status = status
    return error


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
    mounts={STORAGE_PREFIX: s3_routes, DOWNLOAD_PREFIX: download_routes},
    fixtures_schema=FIXTURES_SCHEMA,
    load_fixtures=load_fixtures,
)
