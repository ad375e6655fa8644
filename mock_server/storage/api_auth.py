"""Authentication and body reading shared by the S3 API routes (``s3_api``, ``multipart_upload``).

A request is authenticated by its ``Authorization`` header (``header_auth``) or, failing that, by
presigned query parameters (``sigv4``); an anonymous request is S3's 403 ``AccessDenied``, as on a
private bucket. Bodies are spooled with a cap; ``aws-chunked`` bodies are decoded (and their chunk
signatures checked) on the way, and a hex ``x-amz-content-sha256`` is compared once the body is in.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Sequence
from datetime import UTC, datetime
from urllib.parse import parse_qsl, quote
from xml.etree import ElementTree

from starlette.requests import Request
from starlette.responses import Response

from mock_server.core.bodies import Hasher, SpooledBody, declared_length, read_capped
from mock_server.core.errors import BodyTooLarge, MalformedBody
from mock_server.core.requests import sandbox_of as _request_sandbox
from mock_server.core.sandbox import Sandbox
from mock_server.storage import sigv4
from mock_server.storage.aws_chunked import AwsChunkedDecoder
from mock_server.storage.header_auth import HeaderAuth, check_body_hash, verify_header_auth
from mock_server.storage.s3_errors import (
    AccessDenied,
    EntityTooLarge,
    IncompleteBody,
    InvalidArgument,
    MissingContentLength,
    NoSuchBucket,
    S3Error,
)

S3_NS = "http://s3.amazonaws.com/doc/2006-03-01/"
ONE_MECHANISM = (
    "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, Signature query string "
    "parameter or the Authorization header should be specified"
)


def sandbox_of(request: Request) -> Sandbox:
    return _request_sandbox(request)


def raw_path(request: Request) -> str:
    raw = request.scope.get("raw_path")
    return raw.decode("latin-1").split("?", 1)[0] if raw else quote(request.scope["path"])


def query_string(request: Request) -> str:
    return request.scope.get("query_string", b"").decode("latin-1")


def query(request: Request) -> dict[str, str]:
    return dict(parse_qsl(query_string(request), keep_blank_values=True))


def require_bucket(sandbox: Sandbox, bucket: str) -> None:
    if not sandbox.storage.objects.has_bucket(bucket):
        raise NoSuchBucket(BucketName=bucket)


def authenticate(request: Request) -> HeaderAuth | sigv4.VerifiedPresign:
    """Raises: the S3 error for an anonymous, malformed, mismatched, skewed or expired request."""
    sandbox = sandbox_of(request)
    credentials = sandbox.storage.known_credentials
    if "authorization" in request.headers:
        if {"X-Amz-Algorithm", "X-Amz-Signature", "X-Amz-Credential"} & set(query(request)):
            raise InvalidArgument(
                ONE_MECHANISM, ArgumentName="Authorization", ArgumentValue=request.headers["authorization"]
            )
        return verify_header_auth(
            method=request.method,
            path=raw_path(request),
            query_string=query_string(request),
            headers=request.headers,
            now=sandbox.clock.now(),
            credentials=credentials,
        )
    if not any(name.lower().startswith("x-amz-") for name in query(request)):
        raise AccessDenied()
    return sigv4.verify_presigned(
        method=request.method,
        path=raw_path(request),
        query_string=query_string(request),
        headers=request.headers,
        now=sandbox.clock.now(),
        credentials=credentials,
    )


# S3 subresources the sandbox does not emulate: answered 501 rather than with a listing or an object's bytes.
UNEMULATED = frozenset(
    "accelerate acl attributes encryption legal-hold lifecycle logging notification object-lock "
    "ownershipControls policy publicAccessBlock replication requestPayment restore retention select "
    "tagging torrent versioning versions website".split()
)


def unemulated(params: Iterable[str]) -> str | None:
    """The first query parameter naming a subresource in ``UNEMULATED`` (None: there is none)."""
    return next((name for name in sorted(params) if name in UNEMULATED), None)


async def read_body(
    request: Request,
    auth: HeaderAuth | sigv4.VerifiedPresign,
    cap: int,
    hashers: Sequence[Hasher] = (),
    trailers: dict[str, str] | None = None,
) -> SpooledBody:
    """The request body, spooled, at most ``cap`` bytes, each chunk fed to ``hashers`` as well; an
    aws-chunked body's trailing headers (lower-case names) are put into ``trailers`` when given.

    Raises: MissingContentLength (411), EntityTooLarge, IncompleteBody, XAmzContentSHA256Mismatch,
    SignatureDoesNotMatch (a bad chunk signature).
    """
    stream: AsyncIterator[bytes] = request.stream()
    if isinstance(auth, HeaderAuth) and auth.streaming:
        declared = declared_length(request.headers.get("x-amz-decoded-content-length"))
        decoder = AwsChunkedDecoder(auth)
        stream = decoder.decode(stream)
    else:
        declared = declared_length(request.headers.get("content-length"))
    if declared is None:
        raise MissingContentLength()
    try:
        body = await read_capped(stream, cap, declared, hashers)
    except BodyTooLarge as exc:
        raise EntityTooLarge(ProposedSize=exc.declared or exc.received, MaxSizeAllowed=cap) from exc
    except MalformedBody as exc:
        if isinstance(exc.__cause__, S3Error):
            raise exc.__cause__ from None
        raise IncompleteBody() from exc
    if trailers is not None and isinstance(auth, HeaderAuth) and auth.streaming:
        trailers.update(decoder.trailers)
    if isinstance(auth, HeaderAuth):
        try:
            check_body_hash(auth, body.sha256)
        except S3Error:
            body.close()
            raise
    return body


def xml_response(
    root: ElementTree.Element, status: int = 200, headers: dict[str, str] | None = None
) -> Response:
    body = ElementTree.tostring(root, encoding="utf-8", xml_declaration=True)
    return Response(body, status_code=status, headers=headers, media_type="application/xml")


def element(parent: ElementTree.Element, tag: str, text: object = None) -> ElementTree.Element:
    child = ElementTree.SubElement(parent, tag)
    if text is not None:
        child.text = text if isinstance(text, str) else str(text)
    return child


def root(tag: str) -> ElementTree.Element:
    return ElementTree.Element(tag, xmlns=S3_NS)


def timestamp(moment: datetime) -> str:
    """S3's XML timestamps: ``2026-11-24T10:15:00.000Z`` (the year in four digits, even before 1000)."""
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="milliseconds") + "Z"
