"""Google Cloud Storage V4-style signed download URLs (HMAC keys), for vendors that hand out links.

The URL carries ``X-Goog-Algorithm=GOOG4-HMAC-SHA256``, ``X-Goog-Credential``
(``<id>/<yyyymmdd>/auto/storage/goog4_request``), ``X-Goog-Date``, ``X-Goog-Expires`` (at most
604800), ``X-Goog-SignedHeaders=host`` and the hex ``X-Goog-Signature``. The canonical request is
GCS's: method, path as sent, sorted RFC 3986 query, ``host:<host>``, ``UNSIGNED-PAYLOAD``; the key
chain starts from ``"GOOG4" + secret``. Method, path and host are signed, so a link works only for
what it was issued for.

Refusals reuse the S3 error classes (GCS answers in the same ``<Error>`` XML) with the wording GCS
sends today: ``Message`` is generic and ``Details`` says what was wrong.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qsl

from mock_server.storage.s3_errors import ExpiredToken, InvalidArgument, SignatureDoesNotMatch
from mock_server.storage.sigv4 import (
    AMZ_DATE_FORMAT,
    MAX_EXPIRES,
    UNSIGNED_PAYLOAD,
    SigningCredentials,
    canonical_query,
    canonical_request,
    derive_signing_key,
    hmac_hex,
    host_header,
    same_signature,
    string_to_sign,
    utc,
    whole_seconds,
)

ALGORITHM = "GOOG4-HMAC-SHA256"
LOCATION = "auto"
SERVICE = "storage"
TERMINATOR = "goog4_request"
REQUIRED_PARAMS = ("X-Goog-Algorithm", "X-Goog-Credential", "X-Goog-Date", "X-Goog-Expires",
                   "X-Goog-SignedHeaders", "X-Goog-Signature")
INVALID_PARAMETER = "Missing or invalid X-Goog-* query parameter."
MISMATCH_DETAILS = ("The request signature we calculated does not match the signature you provided. "
                    "Check your Google secret key and signing method.")

_GOOG_DATE = re.compile(r"[0-9]{8}T[0-9]{6}Z")
_SECONDS = re.compile(r"[0-9]{1,18}")


def _scope(date_stamp: str) -> str:
    return f"{date_stamp}/{LOCATION}/{SERVICE}/{TERMINATOR}"


def _signing_key(secret: str, date_stamp: str) -> bytes:
    return derive_signing_key("GOOG4", secret, date_stamp, LOCATION, SERVICE, TERMINATOR)


def sign_download_url(
    *, base_url: str, path: str, credentials: SigningCredentials, now: datetime, expires_in: int,
    method: str = "GET",
) -> str:
    """A signed ``method`` link to ``base_url + path`` valid from ``now`` for ``expires_in`` seconds.

    ``path`` is the wire path, already percent-encoded. The Host signed is the one a client sends
    for ``base_url`` (lower-case, default port dropped).

    Raises: ValueError if ``now`` is naive or ``expires_in`` is negative or fractional.
    """
    goog_date = utc(now).strftime(AMZ_DATE_FORMAT)
    scope = _scope(goog_date[:8])
    params = [
        ("X-Goog-Algorithm", ALGORITHM),
        ("X-Goog-Credential", f"{credentials.access_key_id}/{scope}"),
        ("X-Goog-Date", goog_date),
        ("X-Goog-Expires", str(whole_seconds(expires_in))),
        ("X-Goog-SignedHeaders", "host"),
    ]
    query = canonical_query(params)
    canonical = canonical_request(
        method.upper(), path, query, [("host", host_header(base_url))], "host", UNSIGNED_PAYLOAD
    )
    to_sign = string_to_sign(goog_date, scope, canonical, algorithm=ALGORITHM)
    signature = hmac_hex(_signing_key(credentials.secret_access_key, goog_date[:8]), to_sign)
    return f"{base_url}{path}?{query}&X-Goog-Signature={signature}"


def _invalid(details: str) -> InvalidArgument:
    return InvalidArgument(INVALID_PARAMETER, Details=details)


def _parse(params: Mapping[str, str]) -> tuple[str, str, datetime, int]:
    """``(access id, date stamp, signed at, expires)``. Raises: InvalidArgument naming the parameter."""
    missing = [name for name in REQUIRED_PARAMS if name not in params]
    if missing:
        raise _invalid(f"Missing required parameter: {missing[0]}")
    if params["X-Goog-Algorithm"] != ALGORITHM:
        raise _invalid(f"X-Goog-Algorithm must be {ALGORITHM}")
    goog_date = params["X-Goog-Date"]
    try:
        if not _GOOG_DATE.fullmatch(goog_date):
            raise ValueError(goog_date)
        signed_at = datetime.strptime(goog_date, AMZ_DATE_FORMAT).replace(tzinfo=UTC)
    except ValueError:
        raise _invalid("X-Goog-Date must be in the format yyyyMMdd'T'HHmmss'Z'") from None
    parts = params["X-Goog-Credential"].split("/")
    if len(parts) != 5 or not parts[0] or parts[1:] != _scope(goog_date[:8]).split("/"):
        raise _invalid(f"X-Goog-Credential must be <access id>/{_scope(goog_date[:8])}")
    expires = params["X-Goog-Expires"]
    if not _SECONDS.fullmatch(expires) or not 1 <= int(expires) <= MAX_EXPIRES:
        raise _invalid(f"X-Goog-Expires must be between 1 and {MAX_EXPIRES} seconds")
    if params["X-Goog-SignedHeaders"] != "host":
        raise _invalid("X-Goog-SignedHeaders must be host")
    return parts[0], goog_date[:8], signed_at, int(expires)


def verify_download_url(
    *, method: str, path: str, query_string: str, host: str, now: datetime,
    credentials: Mapping[str, SigningCredentials],
) -> None:
    """Accept a signed link for exactly the method, path and host it was issued for, while valid.

    ``path`` and ``query_string`` are raw, as received; ``host`` is the request's Host header.

    Raises:
        InvalidArgument: an ``X-Goog-*`` parameter is missing or malformed (400).
        SignatureDoesNotMatch: unknown access id, or the signature differs (403).
        ExpiredToken: ``now`` is at or after ``X-Goog-Date + X-Goog-Expires`` (400).
        ValueError: ``now`` is naive.
    """
    now = utc(now)
    pairs = parse_qsl(query_string, keep_blank_values=True)
    params: dict[str, str] = {}
    for name, value in pairs:
        params.setdefault(name, value)
    access_id, date_stamp, signed_at, expires = _parse(params)
    query = canonical_query(pair for pair in pairs if pair[0] != "X-Goog-Signature")
    canonical = canonical_request(
        method.upper(), path, query, [("host", host.strip())], "host", UNSIGNED_PAYLOAD
    )
    to_sign = string_to_sign(params["X-Goog-Date"], _scope(date_stamp), canonical, algorithm=ALGORITHM)
    keys = credentials.get(access_id)
    # An unknown access id answers like a wrong signature, so ids cannot be probed one by one.
    expected = hmac_hex(_signing_key(keys.secret_access_key, date_stamp), to_sign) if keys else ""
    if not (expected and same_signature(expected, params["X-Goog-Signature"])):
        raise SignatureDoesNotMatch(
            "Access denied.", Details=MISMATCH_DETAILS, StringToSign=to_sign, CanonicalRequest=canonical
        )
    expires_at = signed_at + timedelta(seconds=expires)
    if now >= expires_at:
        raise ExpiredToken(
            Details="The provided token has expired. Request signature expired at: "
            f"{expires_at.isoformat()}"
        )
