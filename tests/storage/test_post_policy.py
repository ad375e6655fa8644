"""POST policy uploads: issuing forms, verifying them as S3 does, and S3's answers.

Signatures here are computed with a local HMAC chain, independent of the code under test.
Error texts are S3's wire wording (s3-presigned-and-post-policy.md, table 3.4).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from botocore.config import Config
from hypothesis import given, settings
from hypothesis import strategies as st

from mock_server.storage.post_policy import (
    PostPolicyGrant,
    check_size,
    presign_post,
    success_response,
    verify_post_fields,
)
from mock_server.storage.s3_errors import (
    AccessDenied,
    EntityTooLarge,
    EntityTooSmall,
    InvalidAccessKeyId,
    InvalidArgument,
    InvalidPolicyDocument,
    InvalidToken,
    MaxPostPreDataLengthExceeded,
    S3Error,
    SignatureDoesNotMatch,
)
from mock_server.storage.sigv4 import SigningCredentials

AKID = "AKIAIOSFODNN7EXAMPLE"
SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
REGION = "us-east-1"
BUCKET = "sigv4examplebucket"
NOW = datetime(2015, 12, 29, tzinfo=UTC)
AMZ_DATE = "20151229T000000Z"
CREDENTIAL = f"{AKID}/20151229/{REGION}/s3/aws4_request"
CREDENTIALS = {AKID: SigningCredentials(AKID, SECRET, REGION)}
SIGNING_FIELDS = [
    ("x-amz-algorithm", "AWS4-HMAC-SHA256"),
    ("x-amz-credential", CREDENTIAL),
    ("x-amz-date", AMZ_DATE),
]
SIGNATURE_MISMATCH = (
    "The request signature we calculated does not match the signature you provided. "
    "Check your key and signing method."
)

# Published by AWS ("Example: Browser-Based Upload using HTTP POST (Using AWS Signature Version 4)").
AWS_EXAMPLE_POLICY = (
    '{ "expiration": "2015-12-30T12:00:00.000Z",\r\n  "conditions": [\r\n'
    '    {"bucket": "sigv4examplebucket"},\r\n    ["starts-with", "$key", "user/user1/"],\r\n'
    '    {"acl": "public-read"},\r\n'
    '    {"success_action_redirect": "http://sigv4examplebucket.s3.amazonaws.com/successful_upload.html"},\r\n'
    '    ["starts-with", "$Content-Type", "image/"],\r\n    {"x-amz-meta-uuid": "14365123651274"},\r\n'
    '    {"x-amz-server-side-encryption": "AES256"},\r\n    ["starts-with", "$x-amz-meta-tag", ""],\r\n\r\n'
    '    {"x-amz-credential": "AKIAIOSFODNN7EXAMPLE/20151229/us-east-1/s3/aws4_request"},\r\n'
    '    {"x-amz-algorithm": "AWS4-HMAC-SHA256"},\r\n    {"x-amz-date": "20151229T000000Z" }\r\n  ]\r\n}'
)
AWS_EXAMPLE_SIGNATURE = "8afdbf4008c03f22c2cd3cdb72e4afbb1f6a588f3255ac628749a66d7f09699e"
# Derived: botocore 1.44.8 generate_presigned_post with the clock fixed at 2015-12-29T00:00:00Z.
BOTOCORE_POLICY = (
    '{"expiration": "2015-12-29T01:00:00Z", "conditions": [{"bucket": "sigv4examplebucket"}, '
    '{"key": "user/user1/photo.jpg"}, {"x-amz-algorithm": "AWS4-HMAC-SHA256"}, '
    '{"x-amz-credential": "AKIAIOSFODNN7EXAMPLE/20151229/us-east-1/s3/aws4_request"}, '
    '{"x-amz-date": "20151229T000000Z"}]}'
)
BOTOCORE_SIGNATURE = "3364624b39010d9b06f5d9b8c9a18a6e478d261c048159c92f2fd6fa885f14e6"
# Seed 002 (SaferMe / ThunderMaps), decoded; signed with the AWS example secret (derived vector).
SEED_BUCKET = "staging-thundermaps-uploads"
SEED_AKID = "AKIAJ4QZCCWTHCQYMKLA"
SEED_KEY = "async_uploads/a251225f-308e-49f5-a064-7d0c54894666"
SEED_POLICY = (
    '{"expiration":"2016-10-14T00:37:35Z","conditions":[{"bucket":"staging-thundermaps-uploads"},'
    '["starts-with","$key","async_uploads/a251225f-308e-49f5-a064-7d0c54894666"],'
    '["starts-with","$Content-Type",""],{"success_action_status":"201"},'
    '{"x-amz-credential":"AKIAJ4QZCCWTHCQYMKLA/20161013/eu-central-1/s3/aws4_request"},'
    '{"x-amz-algorithm":"AWS4-HMAC-SHA256"},{"x-amz-date":"20161013T233735Z"}]}'
)
SEED_SIGNATURE = "80e4a43afdab1888b3760a46f235660914d26496e9ddfa903ddbca92c3529a6e"
SEED_NOW = datetime(2016, 10, 13, 23, 37, 35, tzinfo=UTC)
SEED_CREDENTIALS = {SEED_AKID: SigningCredentials(SEED_AKID, SECRET, "eu-central-1")}


def b64(text: str) -> str:
    return base64.b64encode(text.encode("utf-8")).decode("ascii")


def sign(policy: str, *, secret: str = SECRET, day: str = "20151229", region: str = REGION) -> str:
    key = f"AWS4{secret}".encode()
    for part in (day, region, "s3", "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return hmac.new(key, policy.encode(), hashlib.sha256).hexdigest()


def policy_text(conditions: Sequence[object], expiration: str = "2015-12-29T01:00:00Z") -> str:
    """A policy with ``conditions`` plus the three signing-field conditions."""
    signing = [{name: value} for name, value in SIGNING_FIELDS]
    return json.dumps({"expiration": expiration, "conditions": [*conditions, *signing]})


BASE_CONDITIONS: list[object] = [{"bucket": BUCKET}, ["starts-with", "$key", "user/eric/"]]
BASE_FIELDS = [("key", "user/eric/${filename}")]


def signed_form(
    fields: Sequence[tuple[str, str]] = BASE_FIELDS,
    conditions: Sequence[object] = BASE_CONDITIONS,
    *,
    text: str | None = None,
    signing: Sequence[tuple[str, str]] = SIGNING_FIELDS,
) -> list[tuple[str, str]]:
    """``fields``, the signing fields, ``policy`` (``text`` or one built from ``conditions``), signature."""
    policy = b64(text if text is not None else policy_text(conditions))
    return [*fields, *signing, ("policy", policy), ("x-amz-signature", sign(policy))]


def verify(fields: Sequence[tuple[str, str]], **overrides: Any) -> PostPolicyGrant:
    arguments: dict[str, Any] = dict(
        bucket=BUCKET,
        fields=fields,
        file_name="photo.jpg",
        now=NOW,
        credentials=CREDENTIALS,
        region=REGION,
        fields_bytes=0,
    )
    arguments.update(overrides)
    return verify_post_fields(**arguments)


def without(fields: Sequence[tuple[str, str]], *names: str) -> list[tuple[str, str]]:
    return [(name, value) for name, value in fields if name not in names]


def with_value(fields: Sequence[tuple[str, str]], name: str, value: str) -> list[tuple[str, str]]:
    return [(n, value if n == name else v) for n, v in fields]


def value_of(fields: Sequence[tuple[str, str]], name: str) -> str:
    return next(v for n, v in fields if n == name)


def failed(condition: str) -> str:
    return f"Invalid according to Policy: Policy Condition failed: {condition}"


# -- signatures: published and derived vectors --------------------------------------------------
VECTORS = [
    pytest.param(
        dict(
            bucket=BUCKET,
            now=NOW,
            credentials=CREDENTIALS,
            region=REGION,
            file_name="photo.jpg",
            fields=[
                ("key", "user/user1/${filename}"),
                ("acl", "public-read"),
                (
                    "success_action_redirect",
                    "http://sigv4examplebucket.s3.amazonaws.com/successful_upload.html",
                ),
                ("Content-Type", "image/jpeg"),
                ("x-amz-meta-uuid", "14365123651274"),
                ("x-amz-server-side-encryption", "AES256"),
                ("X-Amz-Credential", CREDENTIAL),
                ("X-Amz-Algorithm", "AWS4-HMAC-SHA256"),
                ("X-Amz-Date", AMZ_DATE),
                ("x-amz-meta-tag", ""),
                ("Policy", b64(AWS_EXAMPLE_POLICY)),
                ("X-Amz-Signature", AWS_EXAMPLE_SIGNATURE),
            ],
        ),
        "user/user1/photo.jpg",
        id="aws-s3-post-policy-sigv4examplebucket",
    ),
    pytest.param(
        dict(
            bucket=BUCKET,
            now=NOW,
            credentials=CREDENTIALS,
            region=REGION,
            file_name="photo.jpg",
            fields=[
                ("key", "user/user1/photo.jpg"),
                *SIGNING_FIELDS,
                ("policy", b64(BOTOCORE_POLICY)),
                ("x-amz-signature", BOTOCORE_SIGNATURE),
            ],
        ),
        "user/user1/photo.jpg",
        id="derived-botocore-presigned-post",
    ),
    pytest.param(
        dict(
            bucket=SEED_BUCKET,
            now=SEED_NOW,
            credentials=SEED_CREDENTIALS,
            region="eu-central-1",
            file_name="picture.png",
            fields=[
                ("key", SEED_KEY + "/${filename}"),
                ("success_action_status", "201"),
                ("Content-Type", "image/png"),
                ("policy", b64(SEED_POLICY)),
                ("x-amz-credential", f"{SEED_AKID}/20161013/eu-central-1/s3/aws4_request"),
                ("x-amz-algorithm", "AWS4-HMAC-SHA256"),
                ("x-amz-date", "20161013T233735Z"),
                ("x-amz-signature", SEED_SIGNATURE),
            ],
        ),
        SEED_KEY + "/picture.png",
        id="derived-seed002-policy-with-example-secret",
    ),
]


@pytest.mark.parametrize(("arguments", "stored_key"), VECTORS)
def test_vector_signature_is_reproduced(arguments: dict[str, Any], stored_key: str) -> None:
    grant = verify_post_fields(**arguments)
    assert grant.key == stored_key
    # One changed hex digit in the published signature must not verify.
    fields = list(arguments["fields"])
    name, signature = fields[-1]
    fields[-1] = (name, signature[:-1] + ("0" if signature[-1] != "0" else "1"))
    with pytest.raises(SignatureDoesNotMatch):
        verify_post_fields(**{**arguments, "fields": fields})


def test_presign_post_reproduces_the_seed_policy_and_field_order() -> None:
    fields = presign_post(
        bucket=SEED_BUCKET,
        key=SEED_KEY,
        key_starts_with=True,
        now=SEED_NOW,
        credentials=SEED_CREDENTIALS[SEED_AKID],
        fields={"success_action_status": "201", "Content-Type": "image/png"},
        conditions=[["starts-with", "$Content-Type", ""]],
    )
    assert list(fields) == [
        "key",
        "success_action_status",
        "Content-Type",
        "policy",
        "x-amz-credential",
        "x-amz-algorithm",
        "x-amz-date",
        "x-amz-signature",
    ]
    assert base64.b64decode(fields["policy"]).decode() == SEED_POLICY
    assert fields["x-amz-signature"] == SEED_SIGNATURE
    assert fields["key"] == SEED_KEY


# -- boto3's own forms are accepted --------------------------------------------------------------
SANDBOX = SigningCredentials(
    "AKIASANDBOX000000001", "sandbox/secret/key/do-not-use-in-production", "eu-central-1"
)


@pytest.mark.parametrize(
    ("key", "options", "file_name", "expected"),
    [
        pytest.param("uploads/report.pdf", {}, "ignored.pdf", ("uploads/report.pdf", 0, None), id="plain"),
        pytest.param(
            "uploads/${filename}",
            {
                "Fields": {"acl": "private", "Content-Type": "image/png"},
                "Conditions": [
                    {"acl": "private"},
                    ["starts-with", "$Content-Type", "image/"],
                    ["content-length-range", 1, 1048576],
                ],
            },
            "C:\\fakepath\\scan.png",
            ("uploads/scan.png", 1, 1048576),
            id="fields-range-starts-with",
        ),
    ],
)
def test_boto3_generate_presigned_post_is_accepted(
    key: str, options: dict[str, Any], file_name: str, expected: tuple[str, int, int | None]
) -> None:
    client = boto3.session.Session(
        aws_access_key_id=SANDBOX.access_key_id,
        aws_secret_access_key=SANDBOX.secret_access_key,
        region_name=SANDBOX.region,
    ).client("s3", config=Config(signature_version="s3v4"), endpoint_url="http://127.0.0.1:8080/s3")
    post = client.generate_presigned_post("thundermaps", key, ExpiresIn=600, **options)
    signed_at = datetime.strptime(post["fields"]["x-amz-date"], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    arguments = dict(
        bucket="thundermaps",
        fields=list(post["fields"].items()),
        file_name=file_name,
        credentials={SANDBOX.access_key_id: SANDBOX},
        region=SANDBOX.region,
    )
    grant = verify_post_fields(now=signed_at, **arguments)
    assert (grant.key, grant.min_size, grant.max_size) == expected
    assert grant.expires_at == signed_at + timedelta(seconds=600)
    with pytest.raises(AccessDenied, match="Policy expired"):
        verify_post_fields(now=signed_at + timedelta(seconds=600), **arguments)


# -- presign_post round trips --------------------------------------------------------------------
def test_presign_post_round_trip_with_fields_conditions_and_session_token() -> None:
    credentials = SigningCredentials(AKID, SECRET, REGION, session_token="FQoGZXIvYXdzE-token")
    fields = presign_post(
        bucket=BUCKET,
        key="user/eric/report.pdf",
        credentials=credentials,
        now=NOW,
        expires_in=900,
        fields={"Content-Type": "application/pdf", "success_action_status": "201"},
        conditions=[["content-length-range", 10, 2048], ["eq", "$Content-Type", "application/pdf"]],
    )
    assert list(fields)[-3:] == ["x-amz-date", "x-amz-security-token", "x-amz-signature"]
    document = json.loads(base64.b64decode(fields["policy"]))
    assert document["expiration"] == "2015-12-29T00:15:00Z"
    assert document["conditions"][:5] == [
        {"bucket": BUCKET},
        {"key": "user/eric/report.pdf"},
        ["content-length-range", 10, 2048],
        ["eq", "$Content-Type", "application/pdf"],
        {"success_action_status": "201"},
    ]
    assert document["conditions"][-1] == {"x-amz-security-token": "FQoGZXIvYXdzE-token"}
    grant = verify(list(fields.items()), credentials={AKID: credentials})
    assert grant == PostPolicyGrant(
        key="user/eric/report.pdf",
        content_type="application/pdf",
        success_action_status="201",
        success_action_redirect=None,
        min_size=10,
        max_size=2048,
        access_key_id=AKID,
        expires_at=datetime(2015, 12, 29, 0, 15, tzinfo=UTC),
    )
    with pytest.raises(InvalidAccessKeyId):
        verify(without(list(fields.items()), "x-amz-security-token"), credentials={AKID: credentials})
    with pytest.raises(InvalidToken) as caught:
        verify(
            with_value(list(fields.items()), "x-amz-security-token", "other"), credentials={AKID: credentials}
        )
    assert (caught.value.status, caught.value.message) == (
        400,
        "The provided token is malformed or otherwise invalid.",
    )


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        pytest.param({"now": datetime(2015, 12, 29)}, "timezone-aware", id="naive-now"),
        pytest.param({"fields": {"Policy": "x"}}, "Policy", id="reserved-field"),
    ],
)
def test_presign_post_refuses(arguments: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        presign_post(
            **{"bucket": BUCKET, "key": "k", "credentials": CREDENTIALS[AKID], "now": NOW, **arguments}
        )


# -- the seed-002 policy, rule by rule -----------------------------------------------------------
def seed_form(key: str | None, **changes: str | None) -> list[tuple[str, str]]:
    """The seed's curl form (fields in its order); a change to None drops that field."""
    fields: dict[str, str | None] = {"key": key, "success_action_status": "201", "Content-Type": "image/png"}
    fields.update(changes)
    form = [(name, value) for name, value in fields.items() if value is not None]
    policy = b64(SEED_POLICY)
    return [
        *form,
        ("policy", policy),
        ("x-amz-credential", f"{SEED_AKID}/20161013/eu-central-1/s3/aws4_request"),
        ("x-amz-algorithm", "AWS4-HMAC-SHA256"),
        ("x-amz-date", "20161013T233735Z"),
        ("x-amz-signature", SEED_SIGNATURE),
    ]


def verify_seed(fields: list[tuple[str, str]], file_name: str = "picture.png") -> PostPolicyGrant:
    return verify_post_fields(
        bucket=SEED_BUCKET,
        fields=fields,
        file_name=file_name,
        now=SEED_NOW,
        credentials=SEED_CREDENTIALS,
        region="eu-central-1",
    )


@pytest.mark.parametrize(
    ("key", "file_name", "stored"),
    [
        pytest.param(SEED_KEY, "picture.png", SEED_KEY, id="bare-key"),
        pytest.param(
            SEED_KEY + "/${filename}",
            "dir/sub/picture.png",
            SEED_KEY + "/picture.png",
            id="filename-basename",
        ),
        pytest.param(SEED_KEY + "/image.png", "x.png", SEED_KEY + "/image.png", id="key-prefix-sdk"),
        pytest.param(SEED_KEY + "-evil", "x.png", SEED_KEY + "-evil", id="plain-prefix-quirk"),
        pytest.param(SEED_KEY + "/${filename}", "", SEED_KEY + "/${filename}", id="no-filename-kept"),
    ],
)
def test_seed_policy_accepts(key: str, file_name: str, stored: str) -> None:
    grant = verify_seed(seed_form(key), file_name)
    assert (grant.key, grant.content_type, grant.success_action_status) == (stored, "image/png", "201")
    assert (grant.min_size, grant.max_size) == (0, None)


def test_empty_security_token_counts_as_none_with_long_term_keys() -> None:
    """SDKs post back the x-amz-security-token "" they were given; no condition needs to cover it."""
    grant = verify_seed([*seed_form(SEED_KEY), ("x-amz-security-token", "")])
    assert grant.key == SEED_KEY


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        pytest.param(
            {"key": "async_uploads/other"},
            failed(f'["starts-with", "$key", "{SEED_KEY}"]'),
            id="key-outside-prefix",
        ),
        pytest.param(
            {"key": "Async_uploads/a251225f-308e-49f5-a064-7d0c54894666"},
            failed(f'["starts-with", "$key", "{SEED_KEY}"]'),
            id="key-prefix-case-sensitive",
        ),
        pytest.param(
            {"Content-Type": None}, failed('["starts-with", "$Content-Type", ""]'), id="content-type-absent"
        ),
        pytest.param(
            {"success_action_status": "200"},
            failed('["eq", "$success_action_status", "201"]'),
            id="status-not-201",
        ),
        pytest.param(
            {"acl": "public-read"}, "Invalid according to Policy: Extra input fields: acl", id="acl-uncovered"
        ),
        pytest.param(
            {"x-amz-security-token": "FQoGZXIvYXdzE"},
            "Invalid according to Policy: Extra input fields: x-amz-security-token",
            id="token-uncovered",
        ),
    ],
)
def test_seed_policy_refuses(changes: dict[str, str | None], message: str) -> None:
    with pytest.raises(AccessDenied) as caught:
        verify_seed(seed_form(**{"key": SEED_KEY, **changes}))
    assert (caught.value.status, caught.value.message) == (403, message)


# -- table 3.4, one case per row ---------------------------------------------------------------
@dataclass
class Row:
    arguments: dict[str, Any]
    error: type[S3Error]
    status: int
    message: str
    extra: dict[str, str] = field(default_factory=dict)


def row_bad_signature() -> Row:
    form = signed_form()
    policy = value_of(form, "policy")[:-2]  # truncated, as in the AWS-validated recording
    provided = value_of(form, "x-amz-signature")
    return Row(
        dict(fields=with_value(form, "policy", policy)),
        SignatureDoesNotMatch,
        403,
        SIGNATURE_MISMATCH,
        {
            "AWSAccessKeyId": AKID,
            "StringToSign": policy,
            "SignatureProvided": provided,
            "StringToSignBytes": " ".join(f"{b:02x}" for b in policy.encode()),
        },
    )


def row_unknown_key() -> Row:
    credential = CREDENTIAL.replace(AKID, "AKIAUNKNOWNKEY000000")
    form = signed_form(signing=[*SIGNING_FIELDS[:1], ("x-amz-credential", credential), SIGNING_FIELDS[2]])
    return Row(
        dict(fields=form),
        InvalidAccessKeyId,
        403,
        "The AWS Access Key Id you provided does not exist in our records.",
        {"AWSAccessKeyId": "AKIAUNKNOWNKEY000000"},
    )


def policy_row(text: str, message: str) -> Callable[[], Row]:
    return lambda: Row(dict(fields=signed_form(text=text)), InvalidPolicyDocument, 400, message)


MISSING_KEY = (
    "Bucket POST must contain a field named 'key'.  If it is specified, please check the order of the fields."
)
TABLE_ROWS = [
    pytest.param(
        lambda: Row(
            dict(fields=signed_form(), fields_bytes=20481),
            MaxPostPreDataLengthExceeded,
            400,
            "Your POST request fields preceeding the upload file was too large.",
            {"MaxPostPreDataLengthBytes": "20480"},
        ),
        id="fields-over-20KB",
    ),
    pytest.param(
        lambda: Row(
            dict(fields=without(signed_form(), "key")),
            InvalidArgument,
            400,
            MISSING_KEY,
            {"ArgumentName": "key", "ArgumentValue": ""},
        ),
        id="no-key",
    ),
    pytest.param(
        lambda: Row(
            dict(fields=without(signed_form(), "x-amz-signature")),
            InvalidArgument,
            400,
            MISSING_KEY.replace("'key'", "'X-Amz-Signature'"),
            {"ArgumentName": "X-Amz-Signature", "ArgumentValue": ""},
        ),
        id="sigv4-field-missing",
    ),
    pytest.param(
        lambda: Row(
            dict(fields=signed_form(), file_name=None),
            InvalidArgument,
            400,
            "POST requires exactly one file upload per request.",
            {"ArgumentName": "file", "ArgumentValue": "0"},
        ),
        id="no-file",
    ),
    pytest.param(
        lambda: Row(dict(fields=[("key", "user/eric/x")]), AccessDenied, 403, "Access Denied"), id="anonymous"
    ),
    pytest.param(row_bad_signature, id="bad-signature"),
    pytest.param(row_unknown_key, id="unknown-access-key"),
    pytest.param(
        lambda: Row(
            dict(fields=signed_form(), region="us-west-1"),
            InvalidArgument,
            400,
            "the region 'us-east-1' is wrong; expecting 'us-west-1'",
            {"ArgumentName": "X-Amz-Credential", "ArgumentValue": CREDENTIAL, "Region": "us-west-1"},
        ),
        id="wrong-region",
    ),
    pytest.param(
        lambda: Row(
            dict(fields=with_value(signed_form(), "x-amz-date", "2015-12-29T00:00:00Z")),
            InvalidArgument,
            400,
            "X-Amz-Date must be formated via ISO8601 Long format",
            {"ArgumentName": "X-Amz-Date", "ArgumentValue": "2015-12-29T00:00:00Z"},
        ),
        id="malformed-date",
    ),
    pytest.param(policy_row("not json", "Invalid Policy: Invalid JSON."), id="policy-not-json"),
    pytest.param(
        policy_row(
            '{"expiration": "2011-09-13T07:52:58+02:00", "conditions": []}',
            "Invalid Policy: Invalid 'expiration' value: '2011-09-13T07:52:58+02:00'",
        ),
        id="bad-expiration",
    ),
    pytest.param(
        policy_row(
            policy_text([{"bucket": BUCKET, "key": "k"}]),
            "Invalid Policy: Invalid Simple-Condition: Simple-Conditions must have exactly "
            "one property specified.",
        ),
        id="simple-condition-two-keys",
    ),
    pytest.param(
        policy_row(
            policy_text([{"Content-Length": 6199034}]),
            "Invalid Policy: Invalid Simple-Condition: value must be a string.",
        ),
        id="simple-condition-not-string",
    ),
    pytest.param(
        policy_row(
            '{"Version": "2012-10-17", "Id": "p1", "Statement": []}',
            "Invalid Policy: Unexpected: 'statement'",
        ),
        id="unexpected-member",
    ),
    pytest.param(
        lambda: Row(
            dict(fields=signed_form(), now=datetime(2015, 12, 29, 1, tzinfo=UTC)),
            AccessDenied,
            403,
            "Invalid according to Policy: Policy expired.",
        ),
        id="expired",
    ),
    pytest.param(
        lambda: Row(
            dict(
                fields=signed_form(
                    [("key", "user/eric/y")], [{"bucket": BUCKET}, ["eq", "$key", "user/eric/x"]]
                )
            ),
            AccessDenied,
            403,
            failed('["eq", "$key", "user/eric/x"]'),
        ),
        id="condition-fails",
    ),
    pytest.param(
        lambda: Row(
            dict(fields=signed_form([*BASE_FIELDS, ("x-amz-meta-note", "n")])),
            AccessDenied,
            403,
            "Invalid according to Policy: Extra input fields: x-amz-meta-note",
        ),
        id="uncovered-field",
    ),
    pytest.param(
        lambda: Row(
            dict(fields=signed_form(conditions=[*BASE_CONDITIONS, ["content-length-range", "test", "10"]])),
            AccessDenied,
            403,
            failed('["content-length-range", "test", "10"]'),
        ),
        id="non-numeric-range-bound",
    ),
]


@pytest.mark.parametrize("build", TABLE_ROWS)
def test_table_3_4_row(build: Callable[[], Row]) -> None:
    row = build()
    with pytest.raises(row.error) as caught:
        verify(**row.arguments)
    error = caught.value
    assert (type(error), error.status, error.message, error.extra) == (
        row.error,
        row.status,
        row.message,
        row.extra,
    )


@pytest.mark.parametrize(
    ("size", "error", "extra"),
    [
        pytest.param(12, EntityTooLarge, {"ProposedSize": "12", "MaxSizeAllowed": "10"}, id="too-large"),
        pytest.param(1, EntityTooSmall, {"ProposedSize": "1", "MinSizeAllowed": "5"}, id="too-small"),
    ],
)
def test_table_3_4_size_rows(size: int, error: type[S3Error], extra: dict[str, str]) -> None:
    grant = verify(signed_form(conditions=[*BASE_CONDITIONS, ["content-length-range", 5, 10]]))
    with pytest.raises(error) as caught:
        check_size(grant, size)
    assert (caught.value.status, caught.value.extra) == (400, extra)
    assert (
        caught.value.message
        == {
            EntityTooLarge: "Your proposed upload exceeds the maximum allowed size",
            EntityTooSmall: "Your proposed upload is smaller than the minimum allowed size",
        }[error]
    )


# -- the check order and the cases the table leaves open ------------------------------------------
UPPERCASE_SIGNATURE = value_of(signed_form(), "x-amz-signature").upper()


@pytest.mark.parametrize(
    ("fields", "error", "message"),
    [
        pytest.param(
            without(signed_form(), "x-amz-algorithm", "x-amz-credential"),
            InvalidArgument,
            MISSING_KEY.replace("'key'", "'X-Amz-Algorithm'"),
            id="algorithm-before-credential",
        ),
        pytest.param(
            without(signed_form(), "policy"),
            InvalidArgument,
            MISSING_KEY.replace("'key'", "'Policy'"),
            id="policy-missing",
        ),
        pytest.param(
            [("key", "user/eric/x"), ("policy", b64(policy_text([])))],
            AccessDenied,
            "Access Denied",
            id="policy-without-signing-fields-is-anonymous",
        ),
        pytest.param(
            with_value(signed_form(), "x-amz-algorithm", "AWS4-HMAC-SHA1"),
            InvalidArgument,
            'X-Amz-Algorithm only supports "AWS4-HMAC-SHA256"',
            id="algorithm-value",
        ),
        pytest.param(
            with_value(signed_form(), "x-amz-credential", "AKIAIOSFODNN7EXAMPLE/20151229"),
            InvalidArgument,
            'the Credential is mal-formed; expecting "<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request".',
            id="credential-malformed",
        ),
        pytest.param(
            with_value(signed_form(), "x-amz-credential", CREDENTIAL.replace(AKID, "")),
            InvalidArgument,
            "a non-empty Access Key (AKID) must be provided in the credential.",
            id="credential-empty-akid",
        ),
        pytest.param(
            with_value(signed_form(), "x-amz-credential", CREDENTIAL.replace("20151229", "2015-12")),
            InvalidArgument,
            'incorrect date format "2015-12". This date in the credential must be in the format "yyyyMMdd".',
            id="credential-date",
        ),
        pytest.param(
            with_value(signed_form(), "x-amz-credential", CREDENTIAL.replace("/s3/", "/s4/")),
            InvalidArgument,
            'incorrect service "s4". This endpoint belongs to "s3".',
            id="credential-service",
        ),
        pytest.param(
            with_value(signed_form(), "x-amz-credential", CREDENTIAL.replace("aws4_", "aws5_")),
            InvalidArgument,
            'incorrect terminal "aws5_request". This endpoint uses "aws4_request".',
            id="credential-terminal",
        ),
        pytest.param(
            with_value(signed_form(), "x-amz-signature", "0" * 64),
            SignatureDoesNotMatch,
            SIGNATURE_MISMATCH,
            id="signature-before-expiry",
        ),
        pytest.param(
            with_value(signed_form(), "x-amz-signature", UPPERCASE_SIGNATURE),
            SignatureDoesNotMatch,
            SIGNATURE_MISMATCH,
            id="signature-case-sensitive",
        ),
    ],
)
def test_signing_field_checks(fields: list[tuple[str, str]], error: type[S3Error], message: str) -> None:
    with pytest.raises(error) as caught:
        verify(fields, now=datetime(2030, 1, 1, tzinfo=UTC))  # expiry is checked last
    assert caught.value.message == message


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param(policy_text([["content-length-range", 0, 512.0]]), "Invalid JSON.", id="float-bound"),
        pytest.param(policy_text([{"success_action_redirect": None}]), "Invalid JSON.", id="null-value"),
        pytest.param('["expiration"]', "Invalid JSON.", id="not-an-object"),
        pytest.param(policy_text([["eq", "$key", 5]]), "Invalid JSON.", id="non-string-operand"),
        pytest.param('{"conditions": []}', "Policy missing expiration.", id="missing-expiration"),
        pytest.param(
            '{"expiration": "2015-12-29T01:00:00Z"}', "Policy missing conditions.", id="missing-conditions"
        ),
        pytest.param(
            '{"EXPIRATION": "2015-12-29T01:00:00Z", "conditions": []}',
            "Unexpected: 'expiration'",
            id="member-names-are-case-sensitive",
        ),
        pytest.param(
            '{"expiration": "2015-12-29 01:00:00 UTC", "conditions": []}',
            "Invalid 'expiration' value: '2015-12-29 01:00:00 UTC'",
            id="expiration-with-spaces",
        ),
        pytest.param(
            '{"expiration": "2015-12-29T01:00:00Z", "conditions": {}}',
            "Invalid 'conditions' value: must be a List.",
            id="conditions-not-list",
        ),
        pytest.param(
            policy_text([{}]),
            "Invalid Simple-Condition: Simple-Conditions must have exactly one property specified.",
            id="empty-simple-condition",
        ),
        pytest.param(
            policy_text([[]]), "Invalid Condition: missing operation identifier.", id="empty-condition"
        ),
        pytest.param(
            policy_text([["ends-with", "$key", "x"]]),
            "Invalid Condition: unknown operation 'ends-with'.",
            id="unknown-operation",
        ),
        pytest.param(
            policy_text([["content-length-range", 0]]),
            "Invalid content-length-range: wrong number of arguments.",
            id="wrong-argument-count",
        ),
        pytest.param(
            policy_text([["content-length-range", -1, 0]]),
            "Invalid content-length-range: bounds must not be negative.",
            id="negative-bound",
        ),
        pytest.param(
            policy_text(["key"]),
            "Invalid condition test: must be a List or Object.",
            id="condition-of-other-type",
        ),
    ],
)
def test_policy_document_errors(text: str, message: str) -> None:
    with pytest.raises(InvalidPolicyDocument) as caught:
        verify(signed_form(text=text))
    assert (caught.value.status, caught.value.message) == (400, f"Invalid Policy: {message}")


def test_policy_that_is_not_base64_is_invalid_json() -> None:
    policy = "eyJleHBpcmF0aW9uIjo!"
    form = [*BASE_FIELDS, *SIGNING_FIELDS, ("policy", policy), ("x-amz-signature", sign(policy))]
    with pytest.raises(InvalidPolicyDocument) as caught:
        verify(form)
    assert caught.value.message == "Invalid Policy: Invalid JSON."


@pytest.mark.parametrize(
    ("now", "expired"),
    [
        pytest.param(datetime(2015, 12, 29, 0, 59, 59, tzinfo=UTC), False, id="one-second-before"),
        pytest.param(datetime(2015, 12, 29, 1, tzinfo=UTC), True, id="at-expiration"),
        pytest.param(datetime(2015, 12, 29, 2, 0, tzinfo=UTC).astimezone(), True, id="local-zone-now"),
    ],
)
def test_expiration_boundary(now: datetime, expired: bool) -> None:
    if expired:
        with pytest.raises(AccessDenied, match="Policy expired"):
            verify(signed_form(), now=now)
    else:
        assert verify(signed_form(), now=now).expires_at == datetime(2015, 12, 29, 1, tzinfo=UTC)


# -- one case per condition type -----------------------------------------------------------------
CONDITION_CASES = [
    ({"acl": "public-read"}, [("acl", "public-read")], None, "eq-simple-pass"),
    ({"acl": "public-read"}, [("acl", "private")], '["eq", "$acl", "public-read"]', "eq-simple-fail"),
    (["eq", "$x-amz-meta-uuid", "1436"], [("x-amz-meta-uuid", "1436")], None, "eq-array-pass"),
    (
        ["eq", "$x-amz-meta-uuid", "1436"],
        [("x-amz-meta-uuid", "14365")],
        '["eq", "$x-amz-meta-uuid", "1436"]',
        "eq-array-fail",
    ),
    (["eq", "$x-amz-meta-uuid", ""], [], '["eq", "$x-amz-meta-uuid", ""]', "eq-empty-needs-presence"),
    (
        ["eq", "x-amz-meta-uuid", "1"],
        [("x-amz-meta-uuid", "1")],
        '["eq", "x-amz-meta-uuid", "1"]',
        "eq-without-dollar",
    ),
    (["starts-with", "$Content-Type", "image/"], [("Content-Type", "image/jpeg")], None, "starts-with-pass"),
    (
        ["starts-with", "$Content-Type", "image/"],
        [("Content-Type", "text/plain")],
        '["starts-with", "$Content-Type", "image/"]',
        "starts-with-fail",
    ),
    (
        ["starts-with", "$x-amz-meta-tag", ""],
        [("x-amz-meta-tag", "anything")],
        None,
        "starts-with-empty-pass",
    ),
    (
        ["starts-with", "$x-amz-meta-tag", ""],
        [],
        '["starts-with", "$x-amz-meta-tag", ""]',
        "starts-with-empty-needs-presence",
    ),
    (
        ["starts-with", "$Content-Type", "image/"],
        [("Content-Type", "image/png, image/jpeg")],
        None,
        "content-type-list-pass",
    ),
    (
        ["starts-with", "$Content-Type", "image/"],
        [("Content-Type", "image/png,text/plain")],
        '["starts-with", "$Content-Type", "image/"]',
        "content-type-list-fail",
    ),
    (["StArTs-WiTh", "$key", "user/"], [], None, "operation-case-insensitive"),
    (
        ["starts-with", "$success_action_status", "20"],
        [("success_action_status", "201")],
        '["starts-with", "$success_action_status", "20"]',
        "exact-only-status",
    ),
    (
        ["starts-with", "$x-amz-server-side-encryption", ""],
        [("x-amz-server-side-encryption", "AES256")],
        '["starts-with", "$x-amz-server-side-encryption", ""]',
        "exact-only-x-amz",
    ),
    (["starts-with", "$bucket", "sigv4"], [], '["starts-with", "$bucket", "sigv4"]', "exact-only-bucket"),
    (["starts-with", "$x-amz-meta-tag", "a"], [("x-amz-meta-tag", "abc")], None, "meta-allows-starts-with"),
    (["eq", "$CONTENT-type", "image/png"], [("content-TYPE", "image/png")], None, "names-case-insensitive"),
    (
        ["eq", "$CONTENT-type", "image/png"],
        [("content-TYPE", "Image/png")],
        '["eq", "$CONTENT-type", "image/png"]',
        "values-case-sensitive",
    ),
    (
        ["eq", "$Content-Disposition", 'filename="a.png"'],
        [("Content-Disposition", "inline")],
        '["eq", "$Content-Disposition", "filename=\\"a.png\\""]',
        "quotes-escaped-when-printed",
    ),
    (["content-length-range", "5", "10"], [], None, "range-numeric-strings"),
]


@pytest.mark.parametrize(
    ("condition", "extra_fields", "failure"),
    [pytest.param(*case[:3], id=case[3]) for case in CONDITION_CASES],
)
def test_condition(condition: object, extra_fields: list[tuple[str, str]], failure: str | None) -> None:
    form = signed_form([*BASE_FIELDS, *extra_fields], [*BASE_CONDITIONS, condition])
    if failure is None:
        verify(form)
        return
    with pytest.raises(AccessDenied) as caught:
        verify(form)
    assert caught.value.message == failed(failure)


def test_bucket_condition_is_compared_with_the_url_bucket() -> None:
    form = signed_form([*BASE_FIELDS, ("bucket", "otherbucket")])
    with pytest.raises(AccessDenied) as caught:
        verify(form, bucket="otherbucket")
    assert caught.value.message == failed(f'["eq", "$bucket", "{BUCKET}"]')


def test_conditions_are_checked_in_policy_order() -> None:
    conditions = [["eq", "$acl", "a"], *BASE_CONDITIONS, ["eq", "$x-amz-meta-a", "b"]]
    with pytest.raises(AccessDenied, match=r'\["eq", "\$acl", "a"\]'):
        verify(signed_form([*BASE_FIELDS, ("acl", "x"), ("x-amz-meta-a", "x")], conditions))


@pytest.mark.parametrize(
    ("sizes", "ranges", "bounds"),
    [
        pytest.param((5, 10), [[5, 10]], (5, 10), id="inclusive"),
        pytest.param((0, 1 << 40), [], (0, None), id="no-range"),
        pytest.param((6, 8), [[5, 10], ["6", "8"]], (6, 8), id="ranges-intersect"),
    ],
)
def test_content_length_range_bounds(
    sizes: tuple[int, int], ranges: list[list[object]], bounds: tuple[int, int | None]
) -> None:
    conditions = [*BASE_CONDITIONS, *(["content-length-range", *pair] for pair in ranges)]
    grant = verify(signed_form(conditions=conditions))
    assert (grant.min_size, grant.max_size) == bounds
    for size in sizes:
        check_size(grant, size)
    if bounds[1] is not None:
        with pytest.raises(EntityTooLarge):
            check_size(grant, bounds[1] + 1)
        with pytest.raises(EntityTooSmall):
            check_size(grant, bounds[0] - 1)


def test_check_size_while_streaming_applies_only_the_maximum() -> None:
    grant = verify(signed_form(conditions=[*BASE_CONDITIONS, ["content-length-range", 5, 10]]))
    check_size(grant, 1, final=False)
    with pytest.raises(EntityTooLarge):
        check_size(grant, 11, final=False)


# -- coverage ----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("fields", "conditions", "extra"),
    [
        pytest.param([("x-ignore-tracking", "1"), ("file", "x")], None, None, id="exempt-fields"),
        pytest.param([("B-Field", "1"), ("a", "2")], None, "B-Field, a", id="several-named-as-sent"),
        pytest.param(
            [],
            [
                {"bucket": BUCKET},
                ["eq", "$key", "user/eric/photo.jpg"],
                {"x-amz-algorithm": "AWS4-HMAC-SHA256"},
            ],
            "x-amz-credential, x-amz-date",
            id="signing-conditions-required",
        ),
    ],
)
def test_field_coverage(
    fields: list[tuple[str, str]], conditions: list[object] | None, extra: str | None
) -> None:
    """``conditions`` replaces the whole policy, signing-field conditions included (None: the usual)."""
    text = None
    if conditions is not None:
        text = json.dumps({"expiration": "2015-12-29T01:00:00Z", "conditions": conditions})
    form = signed_form([*BASE_FIELDS, *fields], text=text)
    if extra is None:
        verify(form)
        return
    with pytest.raises(AccessDenied) as caught:
        verify(form)
    assert caught.value.message == f"Invalid according to Policy: Extra input fields: {extra}"


# -- success responses -------------------------------------------------------------------------
GRANT = PostPolicyGrant(
    key="async_uploads/a251225f-308e-49f5-a064-7d0c54894666/picture.png",
    content_type="image/png",
    success_action_status=None,
    success_action_redirect=None,
    min_size=0,
    max_size=None,
    access_key_id=AKID,
    expires_at=NOW,
)
ETAG = "eae75ff8500185245d286dce1f8b745e"
LOCATION = (
    "https://bucket.s3.amazonaws.com/async_uploads%2Fa251225f-308e-49f5-a064-7d0c54894666%2Fpicture.png"
)
REDIRECT_QUERY = (
    f"bucket=bucket&key=async_uploads%2Fa251225f-308e-49f5-a064-7d0c54894666%2Fpicture.png&etag=%22{ETAG}%22"
)


@pytest.mark.parametrize(
    ("status_field", "status", "body"),
    [
        pytest.param(None, 204, b"", id="missing-204"),
        pytest.param("204", 204, b"", id="204"),
        pytest.param("200", 200, b"", id="200"),
        pytest.param("302", 204, b"", id="other-204"),
        pytest.param(
            "201",
            201,
            (
                '<?xml version="1.0" encoding="UTF-8"?>\n<PostResponse><Location>' + LOCATION + "</Location>"
                "<Bucket>bucket</Bucket><Key>async_uploads/a251225f-308e-49f5-a064-7d0c54894666/picture.png</Key>"
                '<ETag>"eae75ff8500185245d286dce1f8b745e"</ETag></PostResponse>'
            ).encode(),
            id="201-xml",
        ),
    ],
)
def test_success_status(status_field: str | None, status: int, body: bytes) -> None:
    grant = replace(GRANT, success_action_status=status_field)
    answer = success_response(
        grant, location_base="https://bucket.s3.amazonaws.com", bucket="bucket", etag_hex=ETAG
    )
    assert answer == (status, {"ETag": f'"{ETAG}"', "Location": LOCATION}, body)


def test_201_escapes_xml_and_percent_encodes_location() -> None:
    grant = replace(GRANT, key="a&b/c d.png", success_action_status="201")
    status, headers, body = success_response(
        grant, location_base="http://127.0.0.1:8080/s3/b", bucket="b", etag_hex=ETAG
    )
    assert headers["Location"] == "http://127.0.0.1:8080/s3/b/a%26b%2Fc%20d.png"
    assert b"<Location>http://127.0.0.1:8080/s3/b/a%26b%2Fc%20d.png</Location>" in body
    assert b"<Key>a&amp;b/c d.png</Key>" in body


@pytest.mark.parametrize(
    ("redirect", "status", "location"),
    [
        pytest.param(
            "http://example.test/done", 303, "http://example.test/done?" + REDIRECT_QUERY, id="absolute"
        ),
        pytest.param(
            "https://example.test/done?md5=1",
            303,
            "https://example.test/done?md5=1&" + REDIRECT_QUERY,
            id="keeps-query",
        ),
        pytest.param("/wrong/redirect/relative", 204, LOCATION, id="relative-ignored"),
        pytest.param("ftp://example.test/x", 204, LOCATION, id="not-http-ignored"),
    ],
)
def test_success_action_redirect(redirect: str, status: int, location: str) -> None:
    grant = replace(GRANT, success_action_redirect=redirect, success_action_status="201")
    if status == 204:
        grant = replace(grant, success_action_status=None)
    code, headers, body = success_response(
        grant, location_base="https://bucket.s3.amazonaws.com", bucket="bucket", etag_hex=ETAG
    )
    assert (code, headers["Location"], headers["ETag"], body) == (status, location, f'"{ETAG}"', b"")


def test_redirect_field_is_an_alias() -> None:
    conditions = [*BASE_CONDITIONS, ["starts-with", "$redirect", "http://example.test/"]]
    grant = verify(signed_form([*BASE_FIELDS, ("redirect", "http://example.test/ok")], conditions))
    assert grant.success_action_redirect == "http://example.test/ok"


# -- property: any one-character change is refused ------------------------------------------------
PROPERTY_FIELDS = [
    ("key", "user/eric/report.pdf"),
    ("success_action_status", "201"),
    ("x-amz-meta-uuid", "14365123651274"),
]
PROPERTY_FORM = signed_form(
    PROPERTY_FIELDS,
    [
        {"bucket": BUCKET},
        {"key": "user/eric/report.pdf"},
        ["eq", "$success_action_status", "201"],
        {"x-amz-meta-uuid": "14365123651274"},
    ],
)
# Every field an eq condition covers, plus the policy text and the signature.
MUTABLE = [name for name, _ in PROPERTY_FORM]


@settings(max_examples=60, deadline=None)
@given(target=st.sampled_from(MUTABLE), data=st.data())
def test_any_single_character_change_is_refused(target: str, data: st.DataObject) -> None:
    assert verify(PROPERTY_FORM).key == "user/eric/report.pdf"
    original = value_of(PROPERTY_FORM, target)
    index = data.draw(st.integers(0, len(original) - 1), label="index")
    replacement = data.draw(
        st.characters(exclude_categories=("Cs",)).filter(lambda c: c != original[index]), label="replacement"
    )
    changed = original[:index] + replacement + original[index + 1 :]
    with pytest.raises(S3Error):
        verify(with_value(PROPERTY_FORM, target, changed))
