"""Presigned-URL SigV4: AWS's published vectors, boto3 interoperability, and every S3 refusal."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qsl, quote, urlsplit

import boto3
import pytest
from botocore.config import Config
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from mock_server.storage import presign, sigv4
from mock_server.storage.s3_errors import (
    AccessDenied,
    AuthorizationQueryParametersError,
    InvalidAccessKeyId,
    S3Error,
    SignatureDoesNotMatch,
)
from mock_server.storage.sigv4 import SigningCredentials

AKID = "AKIAIOSFODNN7EXAMPLE"
SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
CREDS = SigningCredentials(AKID, SECRET, "us-east-1")
KNOWN = {AKID: CREDS}
T0 = datetime(2013, 5, 24, tzinfo=UTC)
BASE = "http://127.0.0.1:8080"
HOST = "127.0.0.1:8080"
PATH = "/s3/qubs-attachments/acme/989dd0c7/report.pdf"
CANONICAL_QUERY_900 = (
    "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1"
    "%2Fs3%2Faws4_request&X-Amz-Date=20130524T000000Z&X-Amz-Expires=900"
)

# -- vectors (sigv4-test-vectors.json; AWS-published unless the id says "derived") ---------------
PRESIGNED_VECTORS = [
    pytest.param(
        "GET",
        "https://examplebucket.s3.amazonaws.com",
        "/test.txt",
        86400,
        {},
        "https://examplebucket.s3.amazonaws.com/test.txt?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential="
        "AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20130524T000000Z"
        "&X-Amz-Expires=86400&X-Amz-SignedHeaders=host"
        "&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404",
        id="aws-s3-presigned-get-examplebucket-test-txt",
    ),
    pytest.param(
        "PUT",
        BASE,
        "/qubs-reports/acme/A123456/report.pdf",
        900,
        {"content-type": "application/pdf"},
        f"{BASE}/qubs-reports/acme/A123456/report.pdf?{CANONICAL_QUERY_900}"
        "&X-Amz-SignedHeaders=content-type%3Bhost"
        "&X-Amz-Signature=6e8ad801b1108a07c52eceb58ff0cf9e0648dd20279ebfeef22f4088a3b096b1",
        id="derived-presigned-put-content-type-loopback",
    ),
]

_EMPTY = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
_AMZ = {"x-amz-content-sha256": _EMPTY, "x-amz-date": "20130524T000000Z"}
HEADER_VECTORS = [
    pytest.param(
        "GET",
        "/test.txt",
        "",
        {"host": "examplebucket.s3.amazonaws.com", "range": "bytes=0-9", **_AMZ},
        _EMPTY,
        "7344ae5b7ee6c3e7e6b0fe0640412a37625d1fbfff95c48bbb2dc43964946972",
        "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41",
        id="aws-s3-header-get-object-range",
    ),
    pytest.param(
        "PUT",
        "/test%24file.text",
        "",
        {
            "date": "Fri, 24 May 2013 00:00:00 GMT",
            "host": "examplebucket.s3.amazonaws.com",
            "x-amz-content-sha256": "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072",
            "x-amz-date": "20130524T000000Z",
            "x-amz-storage-class": "REDUCED_REDUNDANCY",
        },
        "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072",
        "9e0e90d9c76de8fa5b200d8c849cd5b8dc7a3be3951ddb7f6a76b4158342019d",
        "98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd",
        id="aws-s3-header-put-object",
    ),
    pytest.param(
        "GET",
        "/",
        "lifecycle=",
        {"host": "examplebucket.s3.amazonaws.com", **_AMZ},
        _EMPTY,
        "9766c798316ff2757b517bc739a67f6213b4ab36dd5da2f94eaebf79c77395ca",
        "fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543",
        id="aws-s3-header-get-bucket-lifecycle",
    ),
    pytest.param(
        "GET",
        "/",
        "max-keys=2&prefix=J",
        {"host": "examplebucket.s3.amazonaws.com", **_AMZ},
        _EMPTY,
        "df57d21db20da04d7fa30298dd4488ba3a2b47ca3a489c74750e0f1e7df1b9b7",
        "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7",
        id="aws-s3-header-list-objects",
    ),
]

POLICY_VECTORS = [
    pytest.param(
        "20151229",
        "us-east-1",
        "eyAiZXhwaXJhdGlvbiI6ICIyMDE1LTEyLTMwVDEyOjAwOjAwLjAwMFoiLA0KICAiY29uZGl0aW9ucyI6IFsNCiAgICB7ImJ1Y2tl"
        "dCI6ICJzaWd2NGV4YW1wbGVidWNrZXQifSwNCiAgICBbInN0YXJ0cy13aXRoIiwgIiRrZXkiLCAidXNlci91c2VyMS8iXSwNCiAg"
        "ICB7ImFjbCI6ICJwdWJsaWMtcmVhZCJ9LA0KICAgIHsic3VjY2Vzc19hY3Rpb25fcmVkaXJlY3QiOiAiaHR0cDovL3NpZ3Y0ZXhh"
        "bXBsZWJ1Y2tldC5zMy5hbWF6b25hd3MuY29tL3N1Y2Nlc3NmdWxfdXBsb2FkLmh0bWwifSwNCiAgICBbInN0YXJ0cy13aXRoIiwg"
        "IiRDb250ZW50LVR5cGUiLCAiaW1hZ2UvIl0sDQogICAgeyJ4LWFtei1tZXRhLXV1aWQiOiAiMTQzNjUxMjM2NTEyNzQifSwNCiAg"
        "ICB7IngtYW16LXNlcnZlci1zaWRlLWVuY3J5cHRpb24iOiAiQUVTMjU2In0sDQogICAgWyJzdGFydHMtd2l0aCIsICIkeC1hbXot"
        "bWV0YS10YWciLCAiIl0sDQoNCiAgICB7IngtYW16LWNyZWRlbnRpYWwiOiAiQUtJQUlPU0ZPRE5ON0VYQU1QTEUvMjAxNTEyMjkv"
        "dXMtZWFzdC0xL3MzL2F3czRfcmVxdWVzdCJ9LA0KICAgIHsieC1hbXotYWxnb3JpdGhtIjogIkFXUzQtSE1BQy1TSEEyNTYifSwN"
        "CiAgICB7IngtYW16LWRhdGUiOiAiMjAxNTEyMjlUMDAwMDAwWiIgfQ0KICBdDQp9",
        "cbcef1ebeaefc82cce6530b9f0a9ae598846065f5c5bae0674bd5ebc4ba52d28",
        "8afdbf4008c03f22c2cd3cdb72e4afbb1f6a588f3255ac628749a66d7f09699e",
        id="aws-s3-post-policy-sigv4examplebucket",
    ),
    pytest.param(
        "20151229",
        "us-east-1",
        "eyJleHBpcmF0aW9uIjogIjIwMTUtMTItMjlUMDE6MDA6MDBaIiwgImNvbmRpdGlvbnMiOiBbeyJidWNrZXQiOiAic2lndjRleGFt"
        "cGxlYnVja2V0In0sIHsia2V5IjogInVzZXIvdXNlcjEvcGhvdG8uanBnIn0sIHsieC1hbXotYWxnb3JpdGhtIjogIkFXUzQtSE1B"
        "Qy1TSEEyNTYifSwgeyJ4LWFtei1jcmVkZW50aWFsIjogIkFLSUFJT1NGT0ROTjdFWEFNUExFLzIwMTUxMjI5L3VzLWVhc3QtMS9z"
        "My9hd3M0X3JlcXVlc3QifSwgeyJ4LWFtei1kYXRlIjogIjIwMTUxMjI5VDAwMDAwMFoifV19",
        "cbcef1ebeaefc82cce6530b9f0a9ae598846065f5c5bae0674bd5ebc4ba52d28",
        "3364624b39010d9b06f5d9b8c9a18a6e478d261c048159c92f2fd6fa885f14e6",
        id="derived-botocore-presigned-post",
    ),
    pytest.param(
        "20161013",
        "eu-central-1",
        "eyJleHBpcmF0aW9uIjoiMjAxNi0xMC0xNFQwMDozNzozNVoiLCJjb25kaXRpb25zIjpbeyJidWNrZXQiOiJzdGFnaW5nLXRodW5k"
        "ZXJtYXBzLXVwbG9hZHMifSxbInN0YXJ0cy13aXRoIiwiJGtleSIsImFzeW5jX3VwbG9hZHMvYTI1MTIyNWYtMzA4ZS00OWY1LWEw"
        "NjQtN2QwYzU0ODk0NjY2Il0sWyJzdGFydHMtd2l0aCIsIiRDb250ZW50LVR5cGUiLCIiXSx7InN1Y2Nlc3NfYWN0aW9uX3N0YXR1"
        "cyI6IjIwMSJ9LHsieC1hbXotY3JlZGVudGlhbCI6IkFLSUFKNFFaQ0NXVEhDUVlNS0xBLzIwMTYxMDEzL2V1LWNlbnRyYWwtMS9z"
        "My9hd3M0X3JlcXVlc3QifSx7IngtYW16LWFsZ29yaXRobSI6IkFXUzQtSE1BQy1TSEEyNTYifSx7IngtYW16LWRhdGUiOiIyMDE2"
        "MTAxM1QyMzM3MzVaIn1dfQ==",
        "2a83fe3449fec6a3f76f59f0ab57cc0a177437d886bde93ed6c4f553d20e3bdc",
        "80e4a43afdab1888b3760a46f235660914d26496e9ddfa903ddbca92c3529a6e",
        id="derived-seed002-policy-with-example-secret",
    ),
]


@pytest.mark.parametrize(("method", "base", "path", "expires", "headers", "url"), PRESIGNED_VECTORS)
def test_presign_url_reproduces_vector(
    method: str, base: str, path: str, expires: int, headers: dict[str, str], url: str
) -> None:
    issued = presign.presign_url(
        method=method,
        base_url=base,
        path=path,
        credentials=CREDS,
        now=T0,
        expires_in=expires,
        signed_headers=headers,
    )
    assert issued == url


@pytest.mark.parametrize(("method", "base", "path", "expires", "headers", "url"), PRESIGNED_VECTORS)
def test_vector_url_verifies(
    method: str, base: str, path: str, expires: int, headers: dict[str, str], url: str
) -> None:
    parts = urlsplit(url)
    verified = sigv4.verify_presigned(
        method=method,
        path=parts.path,
        query_string=parts.query,
        headers={"Host": parts.netloc, **headers},
        now=T0 + timedelta(seconds=expires - 1),
        credentials=KNOWN,
    )
    assert verified.signature == url.rsplit("=", 1)[1]
    assert verified.expires_at == T0 + timedelta(seconds=expires)
    assert verified.signed_headers == tuple(sorted([*headers, "host"]))


@pytest.mark.parametrize(
    ("method", "path", "query", "headers", "payload", "cr_sha256", "signature"), HEADER_VECTORS
)
def test_header_auth_vector_chain(
    method: str, path: str, query: str, headers: dict[str, str], payload: str, cr_sha256: str, signature: str
) -> None:
    names = sorted(headers)
    canonical = sigv4.canonical_request(
        method,
        path,
        sigv4.canonical_query(parse_qsl(query, keep_blank_values=True)),
        [(name, headers[name]) for name in names],
        ";".join(names),
        payload,
    )
    to_sign = sigv4.string_to_sign("20130524T000000Z", "20130524/us-east-1/s3/aws4_request", canonical)
    assert to_sign.rsplit("\n", 1)[1] == cr_sha256
    assert sigv4.hmac_hex(sigv4.signing_key(SECRET, "20130524", "us-east-1"), to_sign) == signature


@pytest.mark.parametrize(("date", "region", "policy", "key_hex", "signature"), POLICY_VECTORS)
def test_signing_key_chain_on_post_policy_vectors(
    date: str, region: str, policy: str, key_hex: str, signature: str
) -> None:
    key = sigv4.signing_key(SECRET, date, region)
    assert key.hex() == key_hex
    assert sigv4.hmac_hex(key, policy) == signature


def test_signing_key_is_cached() -> None:
    first = sigv4.signing_key(SECRET, "20130524", "us-east-1")
    assert sigv4.signing_key(SECRET, "20130524", "us-east-1") is first
    assert sigv4.signing_key(SECRET, "20130525", "us-east-1") != first


def test_naive_now_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        presign.presign_url(
            method="GET",
            base_url=BASE,
            path=PATH,
            credentials=CREDS,
            now=datetime(2013, 5, 24),
            expires_in=60,
        )


# -- boto3 interoperability -----------------------------------------------------------------------
def boto3_url(key: str, *, content_type: str | None = None, token: str | None = None) -> str:
    client = boto3.client(
        "s3",
        endpoint_url=f"{BASE}/s3",
        region_name="us-east-1",
        aws_access_key_id=AKID,
        aws_secret_access_key=SECRET,
        aws_session_token=token,
        config=Config(signature_version="s3v4", s3={"addressing_style": "path"}),
    )
    params = {"Bucket": "qubs-attachments", "Key": key}
    if content_type:
        params["ContentType"] = content_type
    return client.generate_presigned_url("put_object", Params=params, ExpiresIn=900)


@pytest.mark.parametrize(
    ("key", "content_type", "token"),
    [
        pytest.param("acme/989dd0c7/report.pdf", None, None, id="plain"),
        pytest.param("acme/989dd0c7/report.pdf", "application/pdf", None, id="content-type"),
        pytest.param("acme/x/Ünïcode report (1)+final.pdf", "image/png", None, id="odd-key"),
        pytest.param("acme/989dd0c7/report.pdf", None, "FQoGZXIvYXdz/token+with=chars", id="session-token"),
    ],
)
def test_boto3_presigned_put_is_accepted_and_matches_ours(
    key: str, content_type: str | None, token: str | None
) -> None:
    url = boto3_url(key, content_type=content_type, token=token)
    parts = urlsplit(url)
    signed_at = datetime.strptime(dict(parse_qsl(parts.query))["X-Amz-Date"], "%Y%m%dT%H%M%SZ")
    signed_at = signed_at.replace(tzinfo=UTC)
    creds = replace(CREDS, session_token=token)
    headers = {"host": HOST} | ({"content-type": content_type} if content_type else {})
    verified = sigv4.verify_presigned(
        method="PUT",
        path=parts.path,
        query_string=parts.query,
        headers=headers,
        now=signed_at,
        credentials={AKID: creds},
    )
    assert verified.signed_at == signed_at
    ours = presign.presign_url(
        method="PUT",
        base_url=BASE,
        path=f"/s3/qubs-attachments/{quote(key, safe='/~')}",
        credentials=creds,
        now=signed_at,
        expires_in=900,
        signed_headers={"content-type": content_type} if content_type else None,
    )
    assert ours == url


# -- one request, one field tampered --------------------------------------------------------------
@dataclass
class Req:
    method: str
    path: str
    params: list[tuple[str, str]]
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def query(self) -> str:
        return "&".join(f"{quote(k, safe='-_.~')}={quote(v, safe='-_.~')}" for k, v in self.params)

    def set(self, name: str, value: str | None) -> Req:
        kept = [(k, v) for k, v in self.params if k != name]
        self.params = kept if value is None else [*kept, (name, value)]
        return self

    def verify(
        self,
        now: datetime = T0 + timedelta(seconds=60),
        credentials: dict[str, SigningCredentials] = KNOWN,
        signed_host: str | None = None,
    ) -> sigv4.VerifiedPresign:
        return sigv4.verify_presigned(
            method=self.method,
            path=self.path,
            query_string=self.query,
            headers=self.headers,
            now=now,
            credentials=credentials,
            signed_host=signed_host,
        )


def issued(*, now: datetime = T0, expires_in: int = 900, content_type: str | None = "application/pdf") -> Req:
    url = presign.presign_url(
        method="PUT",
        base_url=BASE,
        path=PATH,
        credentials=CREDS,
        now=now,
        expires_in=expires_in,
        signed_headers=None if content_type is None else {"content-type": content_type},
    )
    parts = urlsplit(url)
    headers = {"Host": HOST} | ({} if content_type is None else {"Content-Type": content_type})
    return Req("PUT", parts.path, parse_qsl(parts.query, keep_blank_values=True), headers)


def _with_header(name: str, value: str | None) -> Callable[[Req], Req]:
    def apply(req: Req) -> Req:
        req.headers = {k: v for k, v in req.headers.items() if k.lower() != name.lower()}
        if value is not None:
            req.headers[name] = value
        return req

    return apply


def _flip_signature(req: Req) -> Req:
    sig = dict(req.params)["X-Amz-Signature"]
    return req.set("X-Amz-Signature", sig[:-1] + ("0" if sig[-1] != "0" else "1"))


TAMPERS = [
    pytest.param(lambda r: replace(r, method="POST"), SignatureDoesNotMatch, id="method"),
    pytest.param(
        lambda r: replace(r, path=PATH.replace("report", "other")), SignatureDoesNotMatch, id="path"
    ),
    pytest.param(
        lambda r: replace(r, path=PATH.replace(".pdf", "%2Epdf")), SignatureDoesNotMatch, id="path-re-encoded"
    ),
    pytest.param(_flip_signature, SignatureDoesNotMatch, id="X-Amz-Signature"),
    pytest.param(lambda r: r.set("X-Amz-Expires", "901"), SignatureDoesNotMatch, id="X-Amz-Expires"),
    pytest.param(lambda r: r.set("X-Amz-Date", "20130524T000001Z"), SignatureDoesNotMatch, id="X-Amz-Date"),
    pytest.param(
        lambda r: r.set("X-Amz-SignedHeaders", "host"), SignatureDoesNotMatch, id="X-Amz-SignedHeaders"
    ),
    pytest.param(
        lambda r: r.set("X-Amz-Credential", "AKIAOTHER/20130524/us-east-1/s3/aws4_request"),
        InvalidAccessKeyId,
        id="X-Amz-Credential-key",
    ),
    pytest.param(
        lambda r: r.set("X-Amz-Credential", f"{AKID}/20130524/eu-west-1/s3/aws4_request"),
        AuthorizationQueryParametersError,
        id="X-Amz-Credential-region",
    ),
    pytest.param(
        lambda r: r.set("X-Amz-Credential", f"{AKID}/20130525/us-east-1/s3/aws4_request"),
        AuthorizationQueryParametersError,
        id="X-Amz-Credential-date",
    ),
    pytest.param(
        lambda r: r.set("X-Amz-Algorithm", "AWS4-HMAC-SHA512"),
        AuthorizationQueryParametersError,
        id="X-Amz-Algorithm",
    ),
    pytest.param(lambda r: r.set("x-id", "PutObject"), SignatureDoesNotMatch, id="extra-query-param"),
    pytest.param(_with_header("Content-Type", "image/png"), SignatureDoesNotMatch, id="content-type-value"),
    pytest.param(_with_header("Content-Type", None), SignatureDoesNotMatch, id="content-type-missing"),
    pytest.param(_with_header("Host", "localhost:8080"), SignatureDoesNotMatch, id="host"),
    pytest.param(_with_header("Host", "127.0.0.1:9090"), SignatureDoesNotMatch, id="host-port"),
    pytest.param(_with_header("Host", None), SignatureDoesNotMatch, id="host-missing"),
]


def test_untampered_request_is_accepted() -> None:
    verified = issued().verify()
    assert verified.access_key_id == AKID
    assert verified.signed_headers == ("content-type", "host")


@pytest.mark.parametrize(("tamper", "error"), TAMPERS)
def test_single_field_tamper_is_refused(tamper: Callable[[Req], Req], error: type[S3Error]) -> None:
    with pytest.raises(error):
        tamper(issued()).verify()


# -- S3's refusals, with their wording and elements ----------------------------------------------
QUERY_PARAMETER_ERRORS = [
    *[
        pytest.param(name, None, AuthorizationQueryParametersError.default_message, id=f"missing-{name}")
        for name in sigv4.REQUIRED_PARAMS
    ],
    pytest.param("X-Amz-Expires", "604801", sigv4.EXPIRES_TOO_LARGE, id="expires-over-a-week"),
    pytest.param("X-Amz-Expires", "15m", "X-Amz-Expires should be a number", id="expires-not-a-number"),
    pytest.param("X-Amz-Expires", "-1", "X-Amz-Expires must be non-negative", id="expires-negative"),
    pytest.param("X-Amz-Expires", "9" * 5000, "X-Amz-Expires should be a number", id="expires-huge"),
    pytest.param(
        "X-Amz-Algorithm",
        "AWS4-ECDSA-P256-SHA256",
        'X-Amz-Algorithm only supports "AWS4-HMAC-SHA256"',
        id="algorithm",
    ),
    pytest.param(
        "X-Amz-Credential",
        f"{AKID}/20130524/us-east-1/s3",
        sigv4.MALFORMED_CREDENTIAL,
        id="credential-four-parts",
    ),
    pytest.param(
        "X-Amz-Credential",
        f"{AKID}/2013-05-24/us-east-1/s3/aws4_request",
        sigv4.MALFORMED_CREDENTIAL,
        id="credential-date-shape",
    ),
    pytest.param(
        "X-Amz-Credential",
        f"{AKID}/20130524/us-east-1/ec2/aws4_request",
        sigv4.MALFORMED_CREDENTIAL,
        id="credential-service",
    ),
    pytest.param(
        "X-Amz-Credential",
        "/20130524/us-east-1/s3/aws4_request",
        sigv4.MALFORMED_CREDENTIAL,
        id="credential-empty-key",
    ),
    pytest.param("X-Amz-Date", "2013-05-24T00:00:00Z", sigv4.MALFORMED_DATE, id="date-iso-extended"),
    pytest.param("X-Amz-Date", "20130524T000000", sigv4.MALFORMED_DATE, id="date-no-zulu"),
    pytest.param("X-Amz-Date", "20131324T000000Z", sigv4.MALFORMED_DATE, id="date-month-13"),
    pytest.param(
        "X-Amz-Date",
        "20130525T000000Z",
        'Invalid credential date "20130524". This date is not the same as X-Amz-Date: "20130525".',
        id="date-not-credential-date",
    ),
]


@pytest.mark.parametrize(("name", "value", "message"), QUERY_PARAMETER_ERRORS)
def test_query_parameter_errors(name: str, value: str | None, message: str) -> None:
    with pytest.raises(AuthorizationQueryParametersError) as caught:
        issued().set(name, value).verify()
    assert caught.value.status == 400
    assert caught.value.message == message


def test_wrong_region_names_the_expected_one() -> None:
    req = issued().set("X-Amz-Credential", f"{AKID}/20130524/us-west-1/s3/aws4_request")
    with pytest.raises(AuthorizationQueryParametersError) as caught:
        req.verify()
    assert caught.value.message == (
        "Error parsing the X-Amz-Credential parameter; the region 'us-west-1' is wrong; expecting 'us-east-1'"
    )
    assert caught.value.extra == {"Region": "us-east-1"}


def test_unknown_access_key() -> None:
    with pytest.raises(InvalidAccessKeyId) as caught:
        issued().verify(credentials={"AKIAOTHER": replace(CREDS, access_key_id="AKIAOTHER")})
    assert (caught.value.status, caught.value.extra) == (403, {"AWSAccessKeyId": AKID})
    assert caught.value.message == "The AWS Access Key Id you provided does not exist in our records."


def test_unsigned_amz_headers_are_refused_after_the_signature() -> None:
    req = _with_header("x-amz-acl", "public-read")(issued())
    req.headers["X-Amz-Meta-Note"] = "hi"
    with pytest.raises(AccessDenied) as caught:
        req.verify()
    assert caught.value.message == "There were headers present in the request which were not signed"
    assert caught.value.extra == {"HeadersNotSigned": "x-amz-acl, x-amz-meta-note"}
    with pytest.raises(SignatureDoesNotMatch):
        _flip_signature(req).verify()


def test_amz_headers_s3_never_needs_signed_are_allowed() -> None:
    req = issued()
    req.headers |= {"x-amz-content-sha256": "UNSIGNED-PAYLOAD", "X-Amz-Date": "20130524T000000Z"}
    assert req.verify().access_key_id == AKID


def test_header_signed_empty_must_still_be_sent() -> None:
    req = issued(content_type="")
    assert req.verify().signed_headers == ("content-type", "host")
    with pytest.raises(SignatureDoesNotMatch):
        _with_header("Content-Type", None)(req).verify()


def test_signed_content_sha256_is_the_payload_hash() -> None:
    digest = "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072"
    url = presign.presign_url(
        method="PUT",
        base_url=BASE,
        path=PATH,
        credentials=CREDS,
        now=T0,
        expires_in=60,
        signed_headers={"x-amz-content-sha256": digest},
    )
    parts = urlsplit(url)
    req = Req("PUT", parts.path, parse_qsl(parts.query), {"host": HOST, "x-amz-content-sha256": digest})
    assert req.verify(now=T0).signed_headers == ("host", "x-amz-content-sha256")
    with pytest.raises(SignatureDoesNotMatch):
        _with_header("x-amz-content-sha256", "UNSIGNED-PAYLOAD")(req).verify(now=T0)


def test_not_yet_valid() -> None:
    req = issued(now=T0 + timedelta(minutes=15, seconds=1))
    with pytest.raises(AccessDenied) as caught:
        req.verify(now=T0)
    assert caught.value.status == 403
    assert caught.value.message == "Request is not yet valid"
    assert list(caught.value.extra.items()) == [
        ("X-Amz-Date", "20130524T001501Z"),
        ("Expires", "2013-05-24T00:30:01Z"),
        ("ServerTime", "2013-05-24T00:00:00Z"),
    ]


def test_small_clock_skew_is_tolerated() -> None:
    assert issued(now=T0 + timedelta(minutes=15)).verify(now=T0).signed_at == T0 + timedelta(minutes=15)


def test_expiry_boundary_and_elements() -> None:
    req = issued()
    assert req.verify(now=T0 + timedelta(seconds=899))
    with pytest.raises(AccessDenied) as caught:
        req.verify(now=T0 + timedelta(seconds=900))
    assert caught.value.message == "Request has expired"
    assert list(caught.value.extra.items()) == [
        ("X-Amz-Expires", "900"),
        ("Expires", "2013-05-24T00:15:00Z"),
        ("ServerTime", "2013-05-24T00:15:00Z"),
    ]


def test_zero_lifetime_is_expired_at_once() -> None:
    with pytest.raises(AccessDenied, match="Request has expired"):
        issued(expires_in=0).verify(now=T0)


def test_expired_with_bad_signature_reports_the_signature() -> None:
    with pytest.raises(SignatureDoesNotMatch):
        _flip_signature(issued()).verify(now=T0 + timedelta(days=2))


# -- the host hint and the XML body ---------------------------------------------------------------
def test_host_mismatch_hint() -> None:
    req = _with_header("Host", "localhost:8080")(issued())
    with pytest.raises(sigv4.SignatureDoesNotMatchForHost) as caught:
        req.verify(signed_host=HOST)
    error = caught.value
    assert isinstance(error, SignatureDoesNotMatch) and error.code == "SignatureDoesNotMatch"
    assert error.host_mismatch == (HOST, "localhost:8080")
    assert error.message == (
        f"{SignatureDoesNotMatch.default_message} The URL was signed for host '{HOST}' but the request was "
        "sent to host 'localhost:8080'; use the URL exactly as issued (same host name and port)."
    )


@pytest.mark.parametrize(
    ("tamper", "signed_host"),
    [
        pytest.param(_with_header("Content-Type", "image/png"), HOST, id="same-host"),
        pytest.param(
            lambda r: _with_header("Content-Type", "image/png")(_with_header("Host", "x:1")(r)),
            HOST,
            id="other-host-and-another-tamper",
        ),
        pytest.param(_with_header("Host", "x:1"), "y:2", id="neither-host-matches"),
    ],
)
def test_no_host_hint_unless_the_host_alone_explains_it(
    tamper: Callable[[Req], Req], signed_host: str
) -> None:
    with pytest.raises(SignatureDoesNotMatch) as caught:
        tamper(issued()).verify(signed_host=signed_host)
    assert type(caught.value) is SignatureDoesNotMatch
    assert caught.value.message == SignatureDoesNotMatch.default_message


def _xml(error: S3Error) -> ET.Element:
    return ET.fromstring(error.to_xml("REQ123", "HOST456"))


def test_signature_mismatch_xml_has_s3_elements_in_order() -> None:
    with pytest.raises(SignatureDoesNotMatch) as caught:
        _with_header("Content-Type", "image/png")(issued()).verify()
    root = _xml(caught.value)
    assert [child.tag for child in root] == [
        "Code",
        "Message",
        "AWSAccessKeyId",
        "StringToSign",
        "SignatureProvided",
        "StringToSignBytes",
        "CanonicalRequest",
        "CanonicalRequestBytes",
        "RequestId",
        "HostId",
    ]
    text = {child.tag: child.text or "" for child in root}
    assert text["StringToSign"].startswith(
        "AWS4-HMAC-SHA256\n20130524T000000Z\n20130524/us-east-1/s3/aws4_request\n"
    )
    assert bytes.fromhex(text["StringToSignBytes"]).decode() == text["StringToSign"]
    assert bytes.fromhex(text["CanonicalRequestBytes"]).decode() == text["CanonicalRequest"]
    assert text["CanonicalRequest"] == (
        f"PUT\n{PATH}\n{CANONICAL_QUERY_900}&X-Amz-SignedHeaders=content-type%3Bhost\n"
        f"content-type:image/png\nhost:{HOST}\n\ncontent-type;host\nUNSIGNED-PAYLOAD"
    )


def test_expired_xml_has_s3_elements_in_order() -> None:
    with pytest.raises(AccessDenied) as caught:
        issued().verify(now=T0 + timedelta(hours=1))
    root = _xml(caught.value)
    assert [child.tag for child in root] == [
        "Code",
        "Message",
        "X-Amz-Expires",
        "Expires",
        "ServerTime",
        "RequestId",
        "HostId",
    ]
    assert root.findtext("Code") == "AccessDenied" and root.findtext("ServerTime") == "2013-05-24T01:00:00Z"


# -- property: any one-character change is refused --------------------------------------------------
_PARAM_NAMES = [name for name, _ in issued().params]
_ALPHABET = st.characters(exclude_categories=("Cs",))


@settings(max_examples=60, deadline=None, database=None)
@given(data=st.data())
def test_any_one_character_change_is_refused(data: st.DataObject) -> None:
    req = issued()
    assert req.verify()
    target = data.draw(st.sampled_from(["<path>", *_PARAM_NAMES]), label="target")
    original = req.path if target == "<path>" else dict(req.params)[target]
    index = data.draw(st.integers(0, len(original) - 1), label="index")
    char = data.draw(_ALPHABET, label="char")
    assume(char != original[index])
    changed = original[:index] + char + original[index + 1 :]
    tampered = replace(req, path=changed) if target == "<path>" else req.set(target, changed)
    with pytest.raises(S3Error):
        tampered.verify()


# -- the loopback vector's own tamper table -------------------------------------------------------
_LOOPBACK = urlsplit(PRESIGNED_VECTORS[1].values[5])


@pytest.mark.parametrize(
    ("headers", "query", "seconds", "error", "message"),
    [
        pytest.param(
            {"content-type": "image/png"}, _LOOPBACK.query, 60, SignatureDoesNotMatch, None, id="png"
        ),
        pytest.param({}, _LOOPBACK.query, 60, SignatureDoesNotMatch, None, id="no-content-type"),
        pytest.param(
            {"content-type": "application/pdf"},
            _LOOPBACK.query.replace("Expires=900", "Expires=600"),
            60,
            SignatureDoesNotMatch,
            None,
            id="query-edited",
        ),
        pytest.param(
            {"content-type": "application/pdf"},
            _LOOPBACK.query,
            901,
            AccessDenied,
            "Request has expired",
            id="expired",
        ),
    ],
)
def test_loopback_vector_tamper_cases(
    headers: dict[str, str], query: str, seconds: int, error: type[S3Error], message: str | None
) -> None:
    with pytest.raises(error) as caught:
        sigv4.verify_presigned(
            method="PUT",
            path=_LOOPBACK.path,
            query_string=query,
            headers={"host": HOST, **headers},
            now=T0 + timedelta(seconds=seconds),
            credentials=KNOWN,
        )
    assert caught.value.message == (message or SignatureDoesNotMatch.default_message)


def test_session_token_is_signed() -> None:
    creds = replace(CREDS, session_token="FwoGZXIvYXdzEBY+token/=")
    url = presign.presign_url(
        method="GET", base_url=BASE, path=PATH, credentials=creds, now=T0, expires_in=60
    )
    parts = urlsplit(url)
    assert dict(parse_qsl(parts.query))["X-Amz-Security-Token"] == creds.session_token
    req = Req("GET", parts.path, parse_qsl(parts.query), {"host": HOST})
    assert req.verify(now=T0, credentials={AKID: creds})
    with pytest.raises(SignatureDoesNotMatch):
        req.set("X-Amz-Security-Token", "FwoGZXIvYXdzEBY+token/X").verify(now=T0, credentials={AKID: creds})


def test_non_ascii_signature_is_a_mismatch_not_a_crash() -> None:
    with pytest.raises(SignatureDoesNotMatch):
        issued().set("X-Amz-Signature", "é" * 64).verify()
