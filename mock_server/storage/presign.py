"""Issuing S3 presigned URLs (SigV4 query authentication), built directly.

Byte-for-byte what botocore's ``S3SigV4QueryAuth`` produces for the same request at the same
instant (``generate_presigned_url``), without building botocore request objects per URL: the
canonical request is assembled from strings. tests/storage/test_presign_differential.py checks
the equivalence against botocore over thousands of random keys, headers, hosts and times.

botocore's rules reproduced here:
- ``host`` is signed as the URL's lower-case host, IPv6 in brackets, without a default port;
- signed header names are lower-cased, sorted, values trimmed with runs of whitespace folded;
  ``expect``, ``transfer-encoding``, ``user-agent`` and ``x-amzn-trace-id`` are never signed;
- the payload hash is ``UNSIGNED-PAYLOAD`` unless ``x-amz-content-sha256`` is a signed header,
  whose value (as given, untrimmed) is then the payload hash;
- ``content-type: application/x-www-form-urlencoded; charset=utf-8`` (the value botocore sets on
  its own requests) is not signed;
- the query is the caller's parameters, then the authentication parameters
  (``X-Amz-Security-Token`` last when present), RFC 3986 encoded, then ``X-Amz-Signature``; the
  canonical query sorts the encoded pairs;
- the path is signed as given (S3 does not normalise it).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import datetime
from urllib.parse import quote, urlsplit

from mock_server.storage.sigv4 import (
    ALGORITHM,
    AMZ_DATE_FORMAT,
    UNSIGNED_PAYLOAD,
    SigningCredentials,
    host_header,
    signing_key,
    utc,
    whole_seconds,
)

# botocore's SIGNED_HEADERS_BLACKLIST: headers proxies may change, so never part of a signature.
UNSIGNABLE_HEADERS = frozenset({"expect", "transfer-encoding", "user-agent", "x-amzn-trace-id"})
CONTENT_SHA256 = "x-amz-content-sha256"
# botocore sets this on requests it builds, so its query signer drops it rather than sign it.
BOTOCORE_FORM_CONTENT_TYPE = "application/x-www-form-urlencoded; charset=utf-8"


def _encode(value: object) -> str:
    return quote(str(value), safe="-_.~")


class QuerySigner:
    """Everything of a presigned URL but its path, computed once: the canonical query, headers and
    scope, the signing key and the query string. ``sign(path)`` then costs one SHA-256 and one HMAC.

    Arguments as ``presign_url`` (without ``path``). Raises: ValueError as ``presign_url``.
    """

    __slots__ = (
        "_base_url",
        "_canonical_tail",
        "_inner",
        "_method",
        "_outer",
        "_path_prefix",
        "_query",
        "_sign_head",
        "credentials",
    )

    def __init__(
        self,
        *,
        method: str,
        base_url: str,
        credentials: SigningCredentials,
        now: datetime,
        expires_in: int,
        signed_headers: Mapping[str, str] | None = None,
        query: Mapping[str, str] | None = None,
    ) -> None:
        amz_date = utc(now).strftime(AMZ_DATE_FORMAT)
        expires = whole_seconds(expires_in)
        scope = f"{amz_date[:8]}/{credentials.region}/s3/aws4_request"
        headers: dict[str, str] = {}
        for name, value in (signed_headers or {}).items():
            lname = name.lower()
            if lname not in UNSIGNABLE_HEADERS:
                headers[lname] = value
        if headers.get("content-type") == BOTOCORE_FORM_CONTENT_TYPE:
            del headers["content-type"]
        payload = headers.get(CONTENT_SHA256, UNSIGNED_PAYLOAD)
        if "host" not in headers:
            headers["host"] = host_header(base_url)
        names = sorted(headers)
        signed = ";".join(names)
        encoded = [(_encode(k), _encode(v)) for k, v in (query or {}).items()]
        encoded += [
            ("X-Amz-Algorithm", ALGORITHM),
            ("X-Amz-Credential", _encode(f"{credentials.access_key_id}/{scope}")),
            ("X-Amz-Date", amz_date),
            ("X-Amz-Expires", str(expires)),
            ("X-Amz-SignedHeaders", _encode(signed)),
        ]
        if credentials.session_token is not None:
            encoded.append(("X-Amz-Security-Token", _encode(credentials.session_token)))
        self._method = method.upper()
        self._base_url = base_url
        self._query = "&".join(f"{k}={v}" for k, v in encoded)
        # botocore signs the whole URL path: a base URL with a path of its own (a session's
        # ``/~s/<name>``) is part of what the verifier sees.
        self._path_prefix = urlsplit(base_url).path.rstrip("/")
        self._canonical_tail = "\n".join(
            (
                "&".join(f"{k}={v}" for k, v in sorted(encoded)),
                "".join(f"{n}:{' '.join(headers[n].split())}\n" for n in names),
                signed,
                payload,
            )
        )
        self._sign_head = f"{ALGORITHM}\n{amz_date}\n{scope}\n"
        # HMAC-SHA256 (RFC 2104) with the key's inner and outer pads hashed once: each signature then
        # costs two copies of a hash state, not a new HMAC object (OpenSSL looks its digest up each time).
        key = signing_key(credentials.secret_access_key, amz_date[:8], credentials.region).ljust(64, b"\0")
        self._inner = hashlib.sha256(bytes(byte ^ 0x36 for byte in key))
        self._outer = hashlib.sha256(bytes(byte ^ 0x5C for byte in key))
        self.credentials = credentials

    def sign(self, path: str) -> tuple[str, str]:
        """``(url, signature)`` for ``path`` (the wire path below the base URL, percent-encoded)."""
        canonical = f"{self._method}\n{self._path_prefix}{path}\n{self._canonical_tail}"
        # digest().hex(), not hexdigest(): OpenSSL's hexdigest finalises a copy of the state (0.45 vs
        # 0.64 us here; a 10,000-item listing signs 10,000 URLs)
        digest = hashlib.sha256(canonical.encode("utf-8")).digest().hex()
        inner = self._inner.copy()
        inner.update((self._sign_head + digest).encode("utf-8"))
        outer = self._outer.copy()
        outer.update(inner.digest())
        signature = outer.digest().hex()
        return f"{self._base_url}{path}?{self._query}&X-Amz-Signature={signature}", signature


def presign_url(
    *,
    method: str,
    base_url: str,
    path: str,
    credentials: SigningCredentials,
    now: datetime,
    expires_in: int,
    signed_headers: Mapping[str, str] | None = None,
    query: Mapping[str, str] | None = None,
) -> str:
    """A presigned URL for ``method`` on ``base_url + path``, valid from ``now`` for ``expires_in`` s.

    ``path`` is the wire path below ``base_url`` (whose own path, if any, is signed too), already
    percent-encoded. ``signed_headers`` are headers (besides
    ``host``) the client must send with exactly these values, e.g. ``{"content-type": "image/png"}``.
    ``query`` adds signed parameters, e.g. ``response-content-disposition`` on a GET.
    An ``expires_in`` above 604800 is issued as asked, as botocore does, and refused when used.

    Raises: ValueError if ``now`` is naive or ``expires_in`` is negative or fractional.
    """
    signer = QuerySigner(
        method=method,
        base_url=base_url,
        credentials=credentials,
        now=now,
        expires_in=expires_in,
        signed_headers=signed_headers,
        query=query,
    )
    return signer.sign(path)[0]
