"""Browser POST uploads (S3 "POST Object" with a SigV4 policy): issue the form, verify it, answer.

``presign_post`` builds the hidden form fields a vendor hands its clients, with the policy
shape and field order SaferMe's upload_authorization shows (the AWS Ruby SDK's).
``verify_post_fields`` applies S3's checks to the fields that precede the file part, in the order
S3 applies them, and raises the error S3 sends for the first failure. ``check_size`` and
``success_response`` finish the upload. The current time is always passed in.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from urllib.parse import quote, urlencode, urlsplit

from mock_server.storage.post_policy_conditions import (
    ALGORITHM,
    POLICY_VIOLATION,
    CredentialScope,
    check_conditions,
    credential_scope,
    named_fields,
    parse_policy,
    uncovered_fields,
)
from mock_server.storage.s3_errors import (
    AccessDenied,
    EntityTooLarge,
    EntityTooSmall,
    InvalidAccessKeyId,
    InvalidArgument,
    InvalidRequest,
    InvalidToken,
    MaxPostPreDataLengthExceeded,
    SignatureDoesNotMatch,
)
from mock_server.storage.sigv4 import SIGV2_REFUSED, SigningCredentials, signing_key
from mock_server.storage.xml import document

MAX_POST_PRE_DATA_BYTES = 20480
# The SigV4 form fields in the order S3 reports the first one missing, as S3 spells them.
_SIGV4_FIELDS = (
    ("x-amz-algorithm", "X-Amz-Algorithm"),
    ("x-amz-credential", "X-Amz-Credential"),
    ("x-amz-date", "X-Amz-Date"),
    ("policy", "Policy"),
    ("x-amz-signature", "X-Amz-Signature"),
)
# A policy without these is an anonymous upload (S3 answers 403 on a private bucket).
_SIGNING_FIELDS = frozenset({"x-amz-algorithm", "x-amz-credential", "x-amz-date", "x-amz-signature"})
# Fields ${filename} is never substituted in: they are signed (or are the signature) as sent.
_VERBATIM_FIELDS = _SIGNING_FIELDS | {"policy", "x-amz-security-token"}


def _sign(policy: str, secret: str, date_stamp: str, region: str) -> str:
    # The form may carry text that is not valid UTF-8; it must still sign (and mismatch), not crash.
    message = policy.encode("utf-8", "surrogatepass")
    return hmac.new(signing_key(secret, date_stamp, region), message, hashlib.sha256).hexdigest()


def _utc(now: datetime) -> datetime:
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be a timezone-aware datetime")
    return now.astimezone(UTC)


def presign_post(
    *,
    bucket: str,
    key: str,
    credentials: SigningCredentials,
    now: datetime,
    expires_in: int = 3600,
    fields: Mapping[str, str] | None = None,
    conditions: Sequence[object] | None = None,
    key_starts_with: bool = False,
) -> dict[str, str]:
    """Form fields for a POST upload to ``bucket``, valid for ``expires_in`` seconds from ``now``.

    Returns ``key``, the given ``fields``, ``policy``, ``x-amz-credential``, ``x-amz-algorithm``,
    ``x-amz-date``, ``x-amz-security-token`` (session credentials only), ``x-amz-signature``.
    The policy lists the bucket, the key (a prefix when ``key_starts_with``), ``conditions``, an
    exact condition for each given field no condition names, then the signing fields.
    Raises: ValueError for a naive ``now`` or a given field this function fills in itself.
    """
    signed_at = _utc(now).replace(microsecond=0)
    amz_date = signed_at.strftime("%Y%m%dT%H%M%SZ")
    given = dict(fields or {})
    reserved = {"key", "policy", *_SIGNING_FIELDS}
    if credentials.session_token:
        reserved.add("x-amz-security-token")
    clashes = sorted(name for name in given if name.lower() in reserved)
    if clashes:
        raise ValueError(f"fields set by presign_post itself: {', '.join(clashes)}")
    scope = f"{amz_date[:8]}/{credentials.region}/s3/aws4_request"
    signing = {
        "x-amz-credential": f"{credentials.access_key_id}/{scope}",
        "x-amz-algorithm": ALGORITHM,
        "x-amz-date": amz_date,
    }
    if credentials.session_token:
        signing["x-amz-security-token"] = credentials.session_token
    extra = list(conditions or [])
    named = named_fields(extra)
    document = {
        "expiration": (signed_at + timedelta(seconds=expires_in)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "conditions": [
            {"bucket": bucket},
            ["starts-with", "$key", key] if key_starts_with else {"key": key},
            *extra,
            *({name: value} for name, value in given.items() if name.lower() not in named),
            *({name: value} for name, value in signing.items()),
        ],
    }
    text = json.dumps(document, separators=(",", ":"), ensure_ascii=False)
    policy = base64.b64encode(text.encode("utf-8")).decode("ascii")
    signature = _sign(policy, credentials.secret_access_key, amz_date[:8], credentials.region)
    return {"key": key, **given, "policy": policy, **signing, "x-amz-signature": signature}


@dataclass(frozen=True)
class PostPolicyGrant:
    """What the upload route needs once the form fields passed every check."""

    key: str
    content_type: str | None
    success_action_status: str | None
    success_action_redirect: str | None
    min_size: int
    max_size: int | None
    access_key_id: str
    expires_at: datetime
    # Every field as used (lower-case names, ${filename} substituted), for what the object keeps.
    fields: tuple[tuple[str, str], ...] = field(default=(), compare=False)


def _missing(name: str) -> InvalidArgument:
    return InvalidArgument(
        f"Bucket POST must contain a field named '{name}'.  If it is specified, please check the order "
        "of the fields.",
        ArgumentName=name,
        ArgumentValue="",
    )


def _verify_signature(
    form: Mapping[str, str],
    scope: CredentialScope,
    credentials: Mapping[str, SigningCredentials],
    region: str,
) -> None:
    """Raises: InvalidAccessKeyId, InvalidToken or SignatureDoesNotMatch."""
    known = credentials.get(scope.access_key_id)
    if known is None:
        raise InvalidAccessKeyId(AWSAccessKeyId=scope.access_key_id)
    if known.session_token:
        # Temporary keys do not exist without their token; a different token is refused as such.
        if "x-amz-security-token" not in form:
            raise InvalidAccessKeyId(AWSAccessKeyId=scope.access_key_id)
        if form["x-amz-security-token"] != known.session_token:
            raise InvalidToken()
    policy, provided = form["policy"], form["x-amz-signature"]
    expected = _sign(policy, known.secret_access_key, scope.date_stamp, region)
    if not hmac.compare_digest(expected.encode(), provided.encode("utf-8", "surrogatepass")):
        raise SignatureDoesNotMatch(
            AWSAccessKeyId=scope.access_key_id,
            StringToSign=policy,
            SignatureProvided=provided,
            StringToSignBytes=" ".join(f"{byte:02x}" for byte in policy.encode("utf-8", "surrogatepass")),
        )


def _expand_filename(form: dict[str, str], file_name: str) -> None:
    # AWS: "${filename} ... is recognized by all form fields"; a file part without a filename leaves
    # the variable as sent, as S3 does.
    if not file_name:
        return
    base_name = re.split(r"[/\\]", file_name)[-1]
    for name, value in form.items():
        if name not in _VERBATIM_FIELDS:
            form[name] = value.replace("${filename}", base_name)


def _refuse_repeated(fields: Sequence[tuple[str, str]]) -> None:
    seen: set[str] = set()
    for name, value in fields:
        if name.lower() in seen:
            raise InvalidArgument(
                f"Bucket POST must contain each field only once; '{name}' is repeated.",
                ArgumentName=name,
                ArgumentValue=value,
            )
        seen.add(name.lower())


def verify_post_fields(
    *,
    bucket: str,
    fields: Sequence[tuple[str, str]],
    file_name: str | None,
    now: datetime,
    credentials: Mapping[str, SigningCredentials],
    region: str,
    fields_bytes: int = 0,
) -> PostPolicyGrant:
    """Check a POST form the way S3 does and return what the upload may do.

    ``fields`` are the form fields before the file part, in order, names as sent (matched
    case-insensitively). ``file_name`` is the file part's filename ("" without one, None when there
    was no file part); ``${filename}`` in any field but the signing ones becomes its base name.
    ``credentials`` maps access key ids to their secrets; ``region`` is the bucket's.
    ``fields_bytes`` is the size of the form data before the file part.

    Raises, first failure wins: MaxPostPreDataLengthExceeded; InvalidArgument for a repeated field;
    InvalidRequest for a SigV2 form (``AWSAccessKeyId``/``signature``); InvalidArgument for a missing
    ``key``, a missing SigV4 field (all or none), no file part; AccessDenied "Access Denied" when
    no signing field is sent; InvalidArgument for the algorithm, credential scope or x-amz-date;
    InvalidAccessKeyId / InvalidToken; SignatureDoesNotMatch; InvalidPolicyDocument;
    AccessDenied "Invalid according to Policy: ..." for expiry (at or after ``expiration``), the
    first failing condition, then fields no condition covers.
    """
    if fields_bytes > MAX_POST_PRE_DATA_BYTES:
        raise MaxPostPreDataLengthExceeded(MaxPostPreDataLengthBytes=MAX_POST_PRE_DATA_BYTES)
    # Issuers with long-term keys hand out x-amz-security-token "" and SDKs post it back as is:
    # an empty token means "no token", so it needs no policy condition and is not checked.
    fields = [
        (name, value)
        for name, value in fields
        if not (name.lower() == "x-amz-security-token" and value == "")
    ]
    _refuse_repeated(fields)
    form = {name.lower(): value for name, value in fields}
    if "awsaccesskeyid" in form and _SIGNING_FIELDS.isdisjoint(form):
        raise InvalidRequest(SIGV2_REFUSED)
    if not form.get("key"):
        raise _missing("key")
    signed = not _SIGNING_FIELDS.isdisjoint(form)
    if signed:
        for name, spelled in _SIGV4_FIELDS:
            if name not in form:
                raise _missing(spelled)
    if file_name is None:
        raise InvalidArgument(
            "POST requires exactly one file upload per request.", ArgumentName="file", ArgumentValue="0"
        )
    if not signed:
        raise AccessDenied()
    scope = credential_scope(form, region)
    _verify_signature(form, scope, credentials, region)
    policy = parse_policy(form["policy"])
    if _utc(now) >= policy.expiration:
        raise AccessDenied(f"{POLICY_VIOLATION}Policy expired.")
    _expand_filename(form, file_name)
    min_size, max_size = check_conditions(policy.conditions, form, bucket)
    extra = uncovered_fields(policy.conditions, fields)
    if extra:
        raise AccessDenied(f"{POLICY_VIOLATION}Extra input fields: {', '.join(extra)}")
    return PostPolicyGrant(
        key=form["key"],
        content_type=form.get("content-type"),
        success_action_status=form.get("success_action_status"),
        success_action_redirect=form.get("success_action_redirect", form.get("redirect")),
        min_size=min_size,
        max_size=max_size,
        access_key_id=scope.access_key_id,
        expires_at=policy.expiration,
        fields=tuple(form.items()),
    )


def check_size(grant: PostPolicyGrant, size: int, *, final: bool = True) -> None:
    """Apply the policy's content-length-range (inclusive) to ``size`` bytes.

    Call with ``final=False`` on a running count while streaming: only the maximum applies then.
    Raises: EntityTooLarge over the maximum; EntityTooSmall under the minimum (final size only).
    """
    if grant.max_size is not None and size > grant.max_size:
        raise EntityTooLarge(ProposedSize=size, MaxSizeAllowed=grant.max_size)
    if final and size < grant.min_size:
        raise EntityTooSmall(ProposedSize=size, MinSizeAllowed=grant.min_size)


def _redirect_target(url: str | None) -> str | None:
    if not url:
        return None
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    # S3 ignores a redirect it cannot follow (relative or not http) and answers as if absent.
    return url if parts.scheme.lower() in ("http", "https") and parts.netloc else None


def success_response(
    grant: PostPolicyGrant, *, location_base: str, bucket: str, etag_hex: str
) -> tuple[int, dict[str, str], bytes]:
    """S3's answer to a stored POST upload: ``(status, headers, body)``.

    An absolute http(s) ``success_action_redirect`` gives 303 to it with ``bucket``, ``key`` and
    ``etag`` appended; otherwise ``success_action_status`` 200 or 201 (``PostResponse`` XML), and
    204 for anything else. ``Location`` is ``location_base`` + "/" + the key with "/" encoded.
    """
    etag = f'"{etag_hex}"'
    target = _redirect_target(grant.success_action_redirect)
    if target is not None:
        query = urlencode([("bucket", bucket), ("key", grant.key), ("etag", etag)])
        joiner = "" if target.endswith(("?", "&")) else "&" if "?" in target else "?"
        return 303, {"Location": f"{target}{joiner}{query}", "ETag": etag}, b""
    location = f"{location_base}/{quote(grant.key, safe='')}"
    headers = {"ETag": etag, "Location": location}
    if grant.success_action_status == "201":
        body = document(
            "PostResponse", [("Location", location), ("Bucket", bucket), ("Key", grant.key), ("ETag", etag)]
        )
        return 201, headers, body
    if grant.success_action_status == "200":
        return 200, headers, b""
    return 204, headers, b""
