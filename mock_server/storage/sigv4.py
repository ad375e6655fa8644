"""S3 query-string authentication (SigV4): the signing building blocks and verifying presigned URLs.

Issuing lives in ``storage/presign.py`` (byte-for-byte botocore's ``generate_presigned_url``).

Verifying rebuilds the canonical request from the request as received: S3 does not re-normalise
the path, while query parameters are decoded and RFC 3986 re-encoded. Checks run in S3's order:
parameter shape (400) -> access key (403) -> signature (403) -> unsigned ``x-amz-*`` headers (403)
-> validity window (403), so an expired URL with a bad signature reports the signature.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from urllib.parse import parse_qsl, quote, urlsplit

from mock_server.core.clock import iso_z
from mock_server.storage.s3_errors import (
    SIGNATURE_MISMATCH_MESSAGE,
    AccessDenied,
    AuthorizationQueryParametersError,
    InvalidAccessKeyId,
    SignatureDoesNotMatch,
)

ALGORITHM = "AWS4-HMAC-SHA256"
UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"
MAX_EXPIRES = 604800
AMZ_DATE_FORMAT = "%Y%m%dT%H%M%SZ"
# S3 accepts an X-Amz-Date a little ahead of its own clock, as it does for header auth.
CLOCK_SKEW = timedelta(minutes=15)
REQUIRED_PARAMS = ("X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Signature", "X-Amz-Date",
                   "X-Amz-SignedHeaders", "X-Amz-Expires")
# x-amz-* headers S3 lets through unsigned.
UNSIGNED_AMZ_HEADERS = frozenset({"x-amz-content-sha256", "x-amz-date"})
MALFORMED_CREDENTIAL = ("Error parsing the X-Amz-Credential parameter; the Credential is mal-formed; "
                        'expecting "<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request".')
MALFORMED_DATE = "X-Amz-Date must be in the ISO8601 Long Format \"yyyyMMdd'T'HHmmss'Z'\""
SIGV2_REFUSED = ("The authorization mechanism you have provided is not supported. "
                 "Please use AWS4-HMAC-SHA256.")
EXPIRES_TOO_LARGE = ("X-Amz-Expires must be less than a week (in seconds); that is, the given "
                     "X-Amz-Expires must be less than 604800 seconds")

_AMZ_DATE = re.compile(r"[0-9]{8}T[0-9]{6}Z")
_DATE_STAMP = re.compile(r"[0-9]{8}")
# Bounded so int() never sees a huge literal; longer values are "not a number", as in S3.
_INTEGER = re.compile(r"-?[0-9]{1,18}")
_QueryError = AuthorizationQueryParametersError


@dataclass(frozen=True)
class SigningCredentials:
    access_key_id: str
    secret_access_key: str
    region: str
    session_token: str | None = None


@dataclass(frozen=True)
class VerifiedPresign:
    access_key_id: str
    signature: str
    signed_at: datetime
    expires_at: datetime
    signed_headers: tuple[str, ...]


class SignatureDoesNotMatchForHost(SignatureDoesNotMatch):
    """A ``SignatureDoesNotMatch`` whose URL verifies on the host it was issued for.

    ``host_mismatch`` is ``(signed_host, request_host)``, for the route's log line.
    """

    host_mismatch: tuple[str, str] | None = None


# -- building blocks, shared with signed_urls and post_policy ----------------------------------
@lru_cache(maxsize=256)
def derive_signing_key(
    scheme: str, secret: str, date_stamp: str, region: str, service: str, terminator: str
) -> bytes:
    """HMAC chain ``scheme+secret -> date -> region -> service -> terminator`` (AWS4 or GOOG4)."""
    key = hmac.new(f"{scheme}{secret}".encode(), date_stamp.encode(), hashlib.sha256).digest()
    for part in (region, service, terminator):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return key


def signing_key(secret_access_key: str, date_stamp: str, region: str, service: str = "s3") -> bytes:
    """SigV4 signing key for ``date_stamp`` (``yyyymmdd``); cached, as every request derives one."""
    return derive_signing_key("AWS4", secret_access_key, date_stamp, region, service, "aws4_request")


def hmac_hex(key: bytes, message: str) -> str:
    return hmac.new(key, message.encode("utf-8"), hashlib.sha256).hexdigest()


def same_signature(expected: str, provided: str) -> bool:
    """Constant-time comparison; as bytes, since ``compare_digest`` refuses non-ASCII text."""
    return hmac.compare_digest(expected.encode(), provided.encode("utf-8", "surrogatepass"))


def canonical_query(pairs: Iterable[tuple[str, str]]) -> str:
    """Decoded ``(name, value)`` pairs, RFC 3986 encoded, sorted by name then value."""
    encoded = sorted((quote(k, safe="-_.~"), quote(v, safe="-_.~")) for k, v in pairs)
    return "&".join(f"{k}={v}" for k, v in encoded)


def canonical_request(
    method: str, path: str, query: str, headers: Sequence[tuple[str, str]], signed_headers: str,
    payload_hash: str,
) -> str:
    """SigV4 canonical request; ``headers`` are ``(name, value)`` pairs in signing order."""
    block = "".join(f"{name}:{' '.join(value.split())}\n" for name, value in headers)
    return "\n".join((method, path, query, block, signed_headers, payload_hash))


def string_to_sign(amz_date: str, scope: str, canonical: str, algorithm: str = ALGORITHM) -> str:
    digest = hashlib.sha256(canonical.encode("utf-8")).hexdigest()
    return f"{algorithm}\n{amz_date}\n{scope}\n{digest}"


def host_header(base_url: str) -> str:
    """The Host a client sends for ``base_url``: lower-case, without a default port (as botocore)."""
    parts = urlsplit(base_url)
    host = parts.hostname or ""
    host = f"[{host}]" if ":" in host else host
    if parts.port is not None and parts.port != {"http": 80, "https": 443}.get(parts.scheme):
        host = f"{host}:{parts.port}"
    return host


def utc(now: datetime) -> datetime:
    """``now`` in UTC. Raises: ValueError for a naive datetime (its zone would be a guess)."""
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be a timezone-aware datetime")
    return now.astimezone(UTC)


def whole_seconds(expires_in: int) -> int:
    """Raises: ValueError unless ``expires_in`` is a whole number of seconds >= 0."""
    if isinstance(expires_in, bool) or int(expires_in) != expires_in or expires_in < 0:
        raise ValueError(f"expires_in must be a whole number of seconds >= 0, got {expires_in!r}")
    return int(expires_in)


# -- verifying --------------------------------------------------------------------------------
@dataclass(frozen=True)
class _QueryAuth:
    access_key_id: str
    scope: str
    amz_date: str
    signed_at: datetime
    expires_raw: str
    expires: int
    signed_headers: str
    signature: str

    @property
    def names(self) -> list[str]:
        return self.signed_headers.split(";")


def _parse_auth(params: Mapping[str, str], credentials: Mapping[str, SigningCredentials]) -> _QueryAuth:
    """Shape checks, in S3's order. Raises: AuthorizationQueryParametersError."""
    if any(name not in params for name in REQUIRED_PARAMS):
        raise _QueryError()
    if params["X-Amz-Algorithm"] != ALGORITHM:
        raise _QueryError('X-Amz-Algorithm only supports "AWS4-HMAC-SHA256"')
    parts = params["X-Amz-Credential"].split("/")
    if len(parts) != 5 or not all(parts) or not _DATE_STAMP.fullmatch(parts[1]) \
            or parts[3] != "s3" or parts[4] != "aws4_request":
        raise _QueryError(MALFORMED_CREDENTIAL)
    access_key_id, date_stamp, region = parts[:3]
    # S3 checks the (bucket's) region before the key; for an unknown key use the sandbox's region.
    regions = {c.region for c in credentials.values()}
    expected = region
    if access_key_id in credentials:
        expected = credentials[access_key_id].region
    elif len(regions) == 1:
        expected = regions.pop()
    if region != expected:
        raise _QueryError(f"Error parsing the X-Amz-Credential parameter; the region '{region}' is "
                          f"wrong; expecting '{expected}'", Region=expected)
    amz_date = params["X-Amz-Date"]
    try:
        if not _AMZ_DATE.fullmatch(amz_date):
            raise ValueError(amz_date)
        signed_at = datetime.strptime(amz_date, AMZ_DATE_FORMAT).replace(tzinfo=UTC)
    except ValueError:
        raise _QueryError(MALFORMED_DATE) from None
    if date_stamp != amz_date[:8]:
        raise _QueryError(f'Invalid credential date "{date_stamp}". This date is not the same as '
                          f'X-Amz-Date: "{amz_date[:8]}".')
    expires_raw = params["X-Amz-Expires"]
    if not _INTEGER.fullmatch(expires_raw):
        raise _QueryError("X-Amz-Expires should be a number")
    if int(expires_raw) < 0:
        raise _QueryError("X-Amz-Expires must be non-negative")
    if int(expires_raw) > MAX_EXPIRES:
        raise _QueryError(EXPIRES_TOO_LARGE)
    return _QueryAuth(access_key_id, "/".join(parts[1:]), amz_date, signed_at, expires_raw,
                      int(expires_raw), params["X-Amz-SignedHeaders"], params["X-Amz-Signature"])


def _check_signature(
    method: str, path: str, query: str, auth: _QueryAuth, keys: SigningCredentials,
    sent: Mapping[str, list[str]], signed_host: str | None,
) -> None:
    """Raises: SignatureDoesNotMatch (or ``...ForHost``) with S3's diagnostic elements."""
    # Repeated headers are joined with ',' as SigV4 specifies.
    lines = [(name, ",".join(" ".join(v.split()) for v in sent.get(name.lower(), [])))
             for name in auth.names]
    complete = all(name.lower() in sent for name in auth.names)
    payload = UNSIGNED_PAYLOAD
    if "x-amz-content-sha256" in auth.names and "x-amz-content-sha256" in sent:
        payload = sent["x-amz-content-sha256"][0]
    key = signing_key(keys.secret_access_key, auth.amz_date[:8], keys.region)

    def sign(header_lines: list[tuple[str, str]]) -> tuple[str, str, str]:
        canonical = canonical_request(method, path, query, header_lines, auth.signed_headers, payload)
        to_sign = string_to_sign(auth.amz_date, auth.scope, canonical)
        return hmac_hex(key, to_sign), canonical, to_sign

    expected, canonical, to_sign = sign(lines)
    # A signed header that was not sent never matches, even one signed with an empty value.
    if complete and same_signature(expected, auth.signature):
        return
    extra = {
        "AWSAccessKeyId": auth.access_key_id, "StringToSign": to_sign,
        "SignatureProvided": auth.signature, "StringToSignBytes": to_sign.encode().hex(" "),
        "CanonicalRequest": canonical, "CanonicalRequestBytes": canonical.encode().hex(" "),
    }
    request_host = ",".join(sent.get("host", []))
    if complete and signed_host and signed_host != request_host and "host" in auth.names:
        moved = [(name, signed_host if name == "host" else value) for name, value in lines]
        if same_signature(sign(moved)[0], auth.signature):
            # Typical behind docker port maps: the URL was fetched through another name or port.
            error = SignatureDoesNotMatchForHost(
                f"{SIGNATURE_MISMATCH_MESSAGE} The URL was signed for host '{signed_host}' but the "
                f"request was sent to host '{request_host}'; use the URL exactly as issued "
                "(same host name and port).",
                extra=extra,
            )
            error.host_mismatch = (signed_host, request_host)
            raise error
    raise SignatureDoesNotMatch(extra=extra)


def verify_presigned(
    *, method: str, path: str, query_string: str, headers: Mapping[str, str], now: datetime,
    credentials: Mapping[str, SigningCredentials], signed_host: str | None = None,
) -> VerifiedPresign:
    """Check a presigned request as S3 does and describe the URL that authorised it.

    ``path`` and ``query_string`` are raw, as received; ``headers`` is any mapping including
    ``host`` (names compared case-insensitively); ``credentials`` maps access key ids to keys.
    ``signed_host``, the host the URL was issued for, only serves the mismatch hint.

    Raises:
        AuthorizationQueryParametersError: a parameter is missing or malformed (400).
        InvalidAccessKeyId: the credential's access key is unknown (403).
        SignatureDoesNotMatch: the signature differs or a signed header is missing (403);
            ``SignatureDoesNotMatchForHost`` when it would match on ``signed_host``.
        AccessDenied: ``host`` or an ``x-amz-*`` header was not signed, or the URL is not yet valid or
            expired.
        ValueError: ``now`` is naive.
    """
    now = utc(now)
    pairs = parse_qsl(query_string, keep_blank_values=True)
    params: dict[str, str] = {}
    for name, value in pairs:
        params.setdefault(name, value)
    auth = _parse_auth(params, credentials)
    keys = credentials.get(auth.access_key_id)
    if keys is None:
        raise InvalidAccessKeyId(AWSAccessKeyId=auth.access_key_id)

    # Starlette's Headers.items() yields a repeated header once per value.
    sent: dict[str, list[str]] = {}
    for name, value in headers.items():
        sent.setdefault(name.lower(), []).append(value)
    query = canonical_query(pair for pair in pairs if pair[0] != "X-Amz-Signature")
    _check_signature(method.upper(), path, query, auth, keys, sent, signed_host)

    signed = {name.lower() for name in auth.names}
    unsigned = [name for name in sent if name.startswith("x-amz-")
                and name not in signed and name not in UNSIGNED_AMZ_HEADERS]
    if "host" not in signed:
        # SigV4 requires host among the signed headers; S3 reports it as an unsigned header.
        unsigned.insert(0, "host")
    if unsigned:
        raise AccessDenied("There were headers present in the request which were not signed",
                           HeadersNotSigned=", ".join(unsigned))

    expires_at = auth.signed_at + timedelta(seconds=auth.expires)
    window = {"Expires": iso_z(expires_at), "ServerTime": iso_z(now)}
    if auth.signed_at > now + CLOCK_SKEW:
        raise AccessDenied("Request is not yet valid", extra={"X-Amz-Date": auth.amz_date, **window})
    if now >= expires_at:
        raise AccessDenied("Request has expired", extra={"X-Amz-Expires": auth.expires_raw, **window})
    return VerifiedPresign(auth.access_key_id, auth.signature, auth.signed_at, expires_at,
                           tuple(name.lower() for name in auth.names))
