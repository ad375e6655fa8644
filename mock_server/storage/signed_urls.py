"""Google Cloud Storage V4-style signed download URLs (HMAC keys), for vendors that hand out links.

The URL carries ``X-Goog-Algorithm=GOOG4-HMAC-SHA256``, ``X-Goog-Credential``
(``<id>/<yyyymmdd>/auto/storage/goog4_request``), ``X-Goog-Date``, ``X-Goog-Expires`` (at most
604800), ``X-Goog-SignedHeaders`` (``host`` and any other headers the signer fixed, lower-case,
``;``-separated, in the signer's order) and the hex ``X-Goog-Signature``; parameter names are
matched case-insensitively, as GCS does. The canonical request is GCS's: method, path as sent,
sorted RFC 3986 query, the signed headers (values trimmed, inner whitespace collapsed,
repeated headers joined with ``,``), ``UNSIGNED-PAYLOAD`` (or ``x-goog-content-sha256`` when signed);
the key chain starts from ``"GOOG4" + secret``. The host signed is the request's ``Host`` as sent,
port included when it is not the scheme's default (``urlparse(endpoint).netloc`` in
google-cloud-storage's ``generate_signed_url_v4``). Method, path and headers are signed, so a link
works only for what it was issued for.

Refusals are GCS's ``<Error>`` XML (``Code``, ``Message``, ``Details``, ``ParameterName``; no
``RequestId``): a malformed ``X-Goog-Date`` or ``X-Goog-Expires``, an ``X-Goog-Date`` later than
the sandbox clock, signed headers without ``host`` or missing from the request are 400
``MalformedSecurityHeader`` "Your request has a malformed header."; a bad signature is 403
``SignatureDoesNotMatch`` "Access denied."; an expired link 400 ``ExpiredToken``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qsl

from mock_server.storage.gcs_errors import (
    GcsExpiredToken,
    GcsInvalidArgument,
    GcsSignatureDoesNotMatch,
    MalformedSecurityHeader,
)
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
REQUIRED_PARAMS = (
    "X-Goog-Algorithm",
    "X-Goog-Credential",
    "X-Goog-Date",
    "X-Goog-Expires",
    "X-Goog-SignedHeaders",
    "X-Goog-Signature",
)
INVALID_PARAMETER = "Missing or invalid X-Goog-* query parameter."
MISMATCH_DETAILS = (
    "The request signature we calculated does not match the signature you provided. "
    "Check your Google secret key and signing method."
)

_CANONICAL_NAMES = {name.lower(): name for name in REQUIRED_PARAMS}
NOT_SENT = (
    "Your request has a malformed header. Header was included in signedheaders, but not in the request."
)

_GOOG_DATE = re.compile(r"[0-9]{8}T[0-9]{6}Z")
_SECONDS = re.compile(r"[0-9]{1,18}")


def _scope(date_stamp: str) -> str:
    return f"{date_stamp}/{LOCATION}/{SERVICE}/{TERMINATOR}"


def _signing_key(secret: str, date_stamp: str) -> bytes:
    return derive_signing_key("GOOG4", secret, date_stamp, LOCATION, SERVICE, TERMINATOR)


def sign_download_url(
    *,
    base_url: str,
    path: str,
    credentials: SigningCredentials,
    now: datetime,
    expires_in: int,
    method: str = "GET",
    headers: Mapping[str, str] | None = None,
) -> str:
    """A signed ``method`` link to ``base_url + path`` valid from ``now`` for ``expires_in`` seconds.

    ``path`` is the wire path, already percent-encoded. The Host signed is the one a client sends
    for ``base_url`` (lower-case, default port dropped). ``headers`` (e.g. ``{"Content-Type": ...}``)
    are signed too: the request must then send them with exactly these values.

    Raises: ValueError if ``now`` is naive or ``expires_in`` is negative or fractional.
    """
    goog_date = utc(now).strftime(AMZ_DATE_FORMAT)
    scope = _scope(goog_date[:8])
    params = [
        ("X-Goog-Algorithm", ALGORITHM),
        ("X-Goog-Credential", f"{credentials.access_key_id}/{scope}"),
        ("X-Goog-Date", goog_date),
        ("X-Goog-Expires", str(whole_seconds(expires_in))),
    ]
    lines = _header_lines({"host": host_header(base_url), **(headers or {})})
    signed = ";".join(name for name, _ in lines)
    params.append(("X-Goog-SignedHeaders", signed))
    query = canonical_query(params)
    canonical = canonical_request(method.upper(), path, query, lines, signed, UNSIGNED_PAYLOAD)
    to_sign = string_to_sign(goog_date, scope, canonical, algorithm=ALGORITHM)
    signature = hmac_hex(_signing_key(credentials.secret_access_key, goog_date[:8]), to_sign)
    return f"{base_url}{path}?{query}&X-Goog-Signature={signature}"


def _header_lines(headers: Mapping[str, str]) -> list[tuple[str, str]]:
    return sorted((name.lower(), " ".join(value.split())) for name, value in headers.items())


def _invalid(details: str) -> GcsInvalidArgument:
    return GcsInvalidArgument(INVALID_PARAMETER, Details=details)


def _malformed(details: str, parameter: str) -> MalformedSecurityHeader:
    return MalformedSecurityHeader(Details=details, ParameterName=parameter)


def _parse(params: Mapping[str, str]) -> tuple[str, str, datetime, int, list[str]]:
    """``(access id, date stamp, signed at, expires, signed headers)``.

    Raises: GcsInvalidArgument or MalformedSecurityHeader naming the parameter.
    """
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
        raise _malformed("Date not in valid ISO 8601 format.", "Date") from None
    parts = params["X-Goog-Credential"].split("/")
    if len(parts) != 5 or not parts[0] or parts[1:] != _scope(goog_date[:8]).split("/"):
        raise _invalid(f"X-Goog-Credential must be <access id>/{_scope(goog_date[:8])}")
    expires = params["X-Goog-Expires"]
    if not _SECONDS.fullmatch(expires) or not 1 <= int(expires) <= MAX_EXPIRES:
        raise _malformed(f"Expires must be between 1 and {MAX_EXPIRES}.", "Expires")
    names = params["X-Goog-SignedHeaders"].split(";")
    # Order is the signer's (GCS's conformance tests sign "x-goog-content-sha256;bar-value-of-sha256;host").
    if "host" not in names or len(set(names)) != len(names) or any(n != n.lower() or not n for n in names):
        raise _malformed("Host header is required in signedheaders, lower-case and unique.", "signedheaders")
    return parts[0], goog_date[:8], signed_at, int(expires), names


def verify_download_url(
    *,
    method: str,
    path: str,
    query_string: str,
    host: str,
    now: datetime,
    credentials: Mapping[str, SigningCredentials],
    headers: Mapping[str, str] | None = None,
) -> None:
    """Accept a signed link for exactly the method, path and headers it was issued for, while valid.

    ``path`` and ``query_string`` are raw, as received; ``host`` is the request's Host header;
    ``headers`` the request's other headers (needed when the link signs more than ``host``).

    Raises:
        GcsInvalidArgument: an ``X-Goog-*`` parameter is missing, or the credential is malformed (400).
        MalformedSecurityHeader: malformed date or expiry, date in the future, a signed header not
            sent (400).
        GcsSignatureDoesNotMatch: unknown access id, or the signature differs (403).
        GcsExpiredToken: ``now`` is at or after ``X-Goog-Date + X-Goog-Expires`` (400).
        ValueError: ``now`` is naive.
    """
    now = utc(now)
    pairs = parse_qsl(query_string, keep_blank_values=True)
    params: dict[str, str] = {}
    for name, value in pairs:
        # X-Goog-* names are case-insensitive (the conformance URLs carry "x-goog-signature").
        params.setdefault(_CANONICAL_NAMES.get(name.lower(), name), value)
    access_id, date_stamp, signed_at, expires, names = _parse(params)
    sent: dict[str, list[str]] = {}
    for name, value in (headers or {}).items():
        sent.setdefault(name.lower(), []).append(" ".join(value.split()))
    sent["host"] = [host.strip()]
    missing = [name for name in names if name not in sent]
    if missing:
        raise _malformed(NOT_SENT, missing[0].replace("-", ""))
    lines = [(name, ",".join(sent[name])) for name in names]
    payload = (
        sent.get("x-goog-content-sha256", [UNSIGNED_PAYLOAD])[0]
        if "x-goog-content-sha256" in names
        else UNSIGNED_PAYLOAD
    )
    query = canonical_query(pair for pair in pairs if pair[0].lower() != "x-goog-signature")
    canonical = canonical_request(method.upper(), path, query, lines, ";".join(names), payload)
    to_sign = string_to_sign(params["X-Goog-Date"], _scope(date_stamp), canonical, algorithm=ALGORITHM)
    keys = credentials.get(access_id)
    # An unknown access id answers like a wrong signature, so ids cannot be probed one by one.
    expected = hmac_hex(_signing_key(keys.secret_access_key, date_stamp), to_sign) if keys else ""
    if not (expected and same_signature(expected, params["X-Goog-Signature"])):
        raise GcsSignatureDoesNotMatch(
            "Access denied.", Details=MISMATCH_DETAILS, StringToSign=to_sign, CanonicalRequest=canonical
        )
    if signed_at > now:
        raise _malformed(f"X-Goog-Date {params['X-Goog-Date']} is later than the current time.", "Date")
    expires_at = signed_at + timedelta(seconds=expires)
    if now >= expires_at:
        raise GcsExpiredToken(
            Details=f"The provided token has expired. Request signature expired at: {expires_at.isoformat()}"
        )
