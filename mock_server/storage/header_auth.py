"""S3 header authentication (SigV4 ``Authorization`` header), as boto3, the aws CLI and the SDKs send it.

``verify_header_auth`` checks, in S3's order: the header's shape (400 ``AuthorizationHeaderMalformed``)
-> the access key (403 ``InvalidAccessKeyId``) -> ``x-amz-content-sha256`` present and well-formed
(400) -> the request date against the sandbox clock (403 ``RequestTimeTooSkewed``, 15 minutes either
way) -> the signature (403 ``SignatureDoesNotMatch``). The canonical request is built from the path
and query as received, exactly as for presigned URLs (``sigv4``).

The payload modes S3 accepts (AWS "Signature Calculations for the Authorization Header"):
a hex SHA-256 of the body (checked once the body is read: 400 ``XAmzContentSHA256Mismatch``),
``UNSIGNED-PAYLOAD``, and the ``aws-chunked`` forms ``STREAMING-AWS4-HMAC-SHA256-PAYLOAD``
(each chunk signed, chained from the seed signature; checked while streaming),
``STREAMING-UNSIGNED-PAYLOAD-TRAILER`` and ``STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER``
(chunks then trailing headers), decoded by ``aws_chunked``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from urllib.parse import parse_qsl

from mock_server.core.clock import iso_z
from mock_server.storage.s3_errors import (
    AccessDenied,
    InvalidAccessKeyId,
    InvalidArgument,
    InvalidRequest,
    S3Error,
    SignatureDoesNotMatch,
)
from mock_server.storage.sigv4 import (
    ALGORITHM,
    AMZ_DATE_FORMAT,
    CLOCK_SKEW,
    UNSIGNED_PAYLOAD,
    SigningCredentials,
    canonical_query,
    canonical_request,
    hmac_hex,
    same_signature,
    signing_key,
    string_to_sign,
    utc,
)

STREAMING_SIGNED = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
STREAMING_SIGNED_TRAILER = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER"
STREAMING_UNSIGNED_TRAILER = "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
STREAMING_MODES = frozenset({STREAMING_SIGNED, STREAMING_SIGNED_TRAILER, STREAMING_UNSIGNED_TRAILER})
ECDSA_MODES = frozenset(
    {"STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD", "STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD-TRAILER"}
)
BAD_CONTENT_SHA256 = (
    "x-amz-content-sha256 must be UNSIGNED-PAYLOAD, STREAMING-UNSIGNED-PAYLOAD-TRAILER, "
    "STREAMING-AWS4-HMAC-SHA256-PAYLOAD, STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER, "
    "STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD, STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD-TRAILER "
    "or a valid sha256 value."
)
UNSUPPORTED_MECHANISM = (
    "The authorization mechanism you have provided is not supported. Please use AWS4-HMAC-SHA256."
)
MALFORMED_CREDENTIAL = (
    "The authorization header is malformed; the Credential is mal-formed; expecting "
    '"<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request".'
)
_SHA256_HEX = re.compile(r"[0-9a-f]{64}")
_AMZ_DATE = re.compile(r"[0-9]{8}T[0-9]{6}Z")
_FIELD = re.compile(r"\s*(Credential|SignedHeaders|Signature)\s*=\s*([^,\s]*)\s*")


class AuthorizationHeaderMalformed(S3Error):
    status = 400
    code = "AuthorizationHeaderMalformed"
    default_message = "The authorization header is malformed."


class RequestTimeTooSkewed(S3Error):
    status = 403
    code = "RequestTimeTooSkewed"
    default_message = "The difference between the request time and the current time is too large."


class XAmzContentSHA256Mismatch(S3Error):
    status = 400
    code = "XAmzContentSHA256Mismatch"
    default_message = "The provided 'x-amz-content-sha256' header does not match what was computed."


@dataclass(frozen=True)
class HeaderAuth:
    """A verified header-signed request: who signed it and how its body must be read and checked."""

    access_key_id: str
    signature: str
    amz_date: str
    scope: str
    payload: str  # the x-amz-content-sha256 value
    key: bytes  # the day's signing key, for chunk signatures

    @property
    def streaming(self) -> bool:
        return self.payload in STREAMING_MODES

    @property
    def body_sha256(self) -> str | None:
        """The body hash to compare once read, or None when the body is not hashed as a whole."""
        return self.payload if _SHA256_HEX.fullmatch(self.payload) else None


def _fields(header: str) -> dict[str, str]:
    """Raises: InvalidRequest for another scheme; AuthorizationHeaderMalformed for a broken V4 header."""
    scheme, _, rest = header.strip().partition(" ")
    if scheme != ALGORITHM:
        raise InvalidRequest(UNSUPPORTED_MECHANISM)
    fields: dict[str, str] = {}
    for part in rest.split(","):
        match = _FIELD.fullmatch(part)
        if match is None or match[1] in fields:
            raise AuthorizationHeaderMalformed()
        fields[match[1]] = match[2]
    if set(fields) != {"Credential", "SignedHeaders", "Signature"}:
        raise AuthorizationHeaderMalformed()
    return fields


def _request_date(sent: Mapping[str, list[str]]) -> tuple[str, datetime]:
    """``x-amz-date`` (ISO 8601 basic), else ``Date`` (RFC 7231), as S3 takes them.

    Raises: AccessDenied when neither is a valid date.
    """
    raw = (sent.get("x-amz-date") or [""])[0]
    try:
        if raw and _AMZ_DATE.fullmatch(raw):
            return raw, datetime.strptime(raw, AMZ_DATE_FORMAT).replace(tzinfo=UTC)
        if not raw and sent.get("date"):
            parsed = parsedate_to_datetime(sent["date"][0]).astimezone(UTC)
            return parsed.strftime(AMZ_DATE_FORMAT), parsed
    except (TypeError, ValueError):
        pass
    raise AccessDenied("AWS authentication requires a valid Date or x-amz-date header")


def verify_header_auth(
    *,
    method: str,
    path: str,
    query_string: str,
    headers: Mapping[str, str],
    now: datetime,
    credentials: Mapping[str, SigningCredentials],
) -> HeaderAuth:
    """Check an ``Authorization: AWS4-HMAC-SHA256 ...`` request as S3 does.

    ``path`` and ``query_string`` are raw, as received; ``headers`` any mapping whose ``items()``
    yields repeated headers once per value (Starlette's ``Headers``).

    Raises: InvalidRequest, AuthorizationHeaderMalformed, InvalidAccessKeyId, InvalidArgument,
    AccessDenied, RequestTimeTooSkewed, SignatureDoesNotMatch (S3's status, code and message).
    """
    sent: dict[str, list[str]] = {}
    for name, value in headers.items():
        sent.setdefault(name.lower(), []).append(value)
    fields = _fields(sent["authorization"][0])
    parts = fields["Credential"].split("/")
    if len(parts) != 5 or not all(parts) or parts[3] != "s3" or parts[4] != "aws4_request":
        raise AuthorizationHeaderMalformed(MALFORMED_CREDENTIAL)
    access_key_id, date_stamp, region = parts[:3]
    keys = credentials.get(access_key_id)
    if keys is not None and region != keys.region:
        raise AuthorizationHeaderMalformed(
            f"The authorization header is malformed; the region '{region}' is wrong; "
            f"expecting '{keys.region}'",
            Region=keys.region,
        )
    if keys is None:
        raise InvalidAccessKeyId(AWSAccessKeyId=access_key_id)
    payload = (sent.get("x-amz-content-sha256") or [""])[0]
    if not payload:
        raise InvalidRequest("Missing required header for this request: x-amz-content-sha256")
    if payload in ECDSA_MODES:
        raise InvalidRequest(UNSUPPORTED_MECHANISM)
    if payload not in STREAMING_MODES and payload != UNSIGNED_PAYLOAD and not _SHA256_HEX.fullmatch(payload):
        raise InvalidArgument(BAD_CONTENT_SHA256, ArgumentName="x-amz-content-sha256", ArgumentValue=payload)
    amz_date, signed_at = _request_date(sent)
    now = utc(now)
    if abs(signed_at - now) > CLOCK_SKEW:
        raise RequestTimeTooSkewed(
            RequestTime=amz_date, ServerTime=iso_z(now), MaxAllowedSkewMilliseconds="900000"
        )
    if date_stamp != amz_date[:8]:
        raise SignatureDoesNotMatch()
    names = fields["SignedHeaders"].split(";")
    lines = [(name, ",".join(" ".join(v.split()) for v in sent.get(name, []))) for name in names]
    canonical = canonical_request(
        method.upper(), path, canonical_query(_pairs(query_string)), lines, fields["SignedHeaders"], payload
    )
    scope = "/".join(parts[1:])
    to_sign = string_to_sign(amz_date, scope, canonical)
    key = signing_key(keys.secret_access_key, date_stamp, region)
    complete = "host" in names and all(name in sent for name in names)
    if not (complete and same_signature(hmac_hex(key, to_sign), fields["Signature"])):
        raise SignatureDoesNotMatch(
            extra={
                "AWSAccessKeyId": access_key_id,
                "StringToSign": to_sign,
                "SignatureProvided": fields["Signature"],
                "CanonicalRequest": canonical,
            }
        )
    return HeaderAuth(access_key_id, fields["Signature"], amz_date, scope, payload, key)


def _pairs(query_string: str) -> list[tuple[str, str]]:
    return parse_qsl(query_string, keep_blank_values=True)


def check_body_hash(auth: HeaderAuth, computed: str) -> None:
    """Raises: XAmzContentSHA256Mismatch when a hex ``x-amz-content-sha256`` differs from the body's."""
    expected = auth.body_sha256
    if expected is not None and expected != computed:
        raise XAmzContentSHA256Mismatch(
            ClientComputedContentSHA256=expected, S3ComputedContentSHA256=computed
        )
