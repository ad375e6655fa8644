"""boto3's presigned URLs over a real socket: checksums, Range, conditions and response-* overrides."""

from __future__ import annotations

import base64
import hashlib
import xml.etree.ElementTree as ET

import boto3
import pytest
import requests
from botocore.config import Config

from mock_server.testing.server import LiveServer

BUCKET = "sandbox-uploads"
BODY = b"hello\n"
CHECKSUMS = {
    "CRC32": "NjowIA==",
    "CRC32C": "NT3Yvg==",
    "CRC64NVME": "akP7S61aVgc=",
    "SHA1": base64.b64encode(hashlib.sha1(BODY).digest()).decode(),
    "SHA256": base64.b64encode(hashlib.sha256(BODY).digest()).decode(),
}


@pytest.fixture
def s3(live: LiveServer):  # type: ignore[no-untyped-def]
    keys = live.sandbox.storage.credentials
    return boto3.client(
        "s3",
        endpoint_url=f"{live.url}/s3",
        region_name=keys.region,
        aws_access_key_id=keys.access_key_id,
        aws_secret_access_key=keys.secret_access_key,
        config=Config(signature_version="s3v4", s3={"addressing_style": "path"}),
    )


def presigned(s3, operation: str, **params: str) -> str:  # type: ignore[no-untyped-def]
    return s3.generate_presigned_url(operation, Params={"Bucket": BUCKET, **params}, ExpiresIn=300)


def error_code(response: requests.Response) -> str:
    return ET.fromstring(response.content).findtext("Code") or ""


@pytest.mark.parametrize("algorithm", list(CHECKSUMS))
def test_presigned_put_with_each_checksum(s3, algorithm: str) -> None:  # type: ignore[no-untyped-def]
    param, header = f"Checksum{algorithm}", f"x-amz-checksum-{algorithm.lower()}"
    url = presigned(s3, "put_object", Key="c.txt", **{param: CHECKSUMS[algorithm]})
    assert requests.put(url, data=BODY, headers={header: CHECKSUMS[algorithm]}).status_code == 200
    wrong = base64.b64encode(bytes(len(base64.b64decode(CHECKSUMS[algorithm])))).decode()
    refused = requests.put(
        presigned(s3, "put_object", Key="c.txt", **{param: wrong}), data=BODY, headers={header: wrong}
    )
    assert (refused.status_code, error_code(refused)) == (400, "BadDigest")
    got = requests.get(
        presigned(s3, "get_object", Key="c.txt", ChecksumMode="ENABLED"),
        headers={"x-amz-checksum-mode": "ENABLED"},
    )
    assert (got.content, got.headers[header]) == (BODY, CHECKSUMS[algorithm])


def test_presigned_put_with_content_md5(s3) -> None:  # type: ignore[no-untyped-def]
    md5 = base64.b64encode(hashlib.md5(BODY).digest()).decode()
    url = presigned(s3, "put_object", Key="m.txt", ContentMD5=md5)
    assert requests.put(url, data=BODY, headers={"Content-MD5": md5}).status_code == 200
    other = requests.put(url, data=b"tampered", headers={"Content-MD5": md5})
    assert (other.status_code, error_code(other)) == (400, "BadDigest")


@pytest.fixture
def stored(s3) -> str:  # type: ignore[no-untyped-def]
    url = presigned(
        s3,
        "put_object",
        Key="r.txt",
        Metadata={"owner": "ward-7"},
        ContentType="text/plain",
        CacheControl="max-age=5",
    )
    headers = {"x-amz-meta-owner": "ward-7", "Content-Type": "text/plain", "Cache-Control": "max-age=5"}
    response = requests.put(url, data=b"0123456789", headers=headers)
    assert response.status_code == 200
    return response.headers["etag"]


@pytest.mark.parametrize(
    ("rng", "status", "content"),
    [("bytes=1-3", 206, b"123"), ("bytes=-2", 206, b"89"), ("bytes=20-", 416, None)],
    ids=["closed", "suffix", "unsatisfiable"],
)
def test_presigned_get_with_range(s3, stored: str, rng: str, status: int, content: bytes | None) -> None:  # type: ignore[no-untyped-def]
    response = requests.get(presigned(s3, "get_object", Key="r.txt", Range=rng), headers={"Range": rng})
    assert response.status_code == status
    if content is None:
        assert error_code(response) == "InvalidRange"
    else:
        assert response.content == content
        assert response.headers["x-amz-meta-owner"] == "ward-7"


@pytest.mark.parametrize(
    ("param", "header", "value", "status"),
    [
        ("IfNoneMatch", "If-None-Match", "{etag}", 304),
        ("IfMatch", "If-Match", '"0000"', 412),
        ("IfMatch", "If-Match", "{etag}", 200),
        ("IfNoneMatch", "If-None-Match", '"0000"', 200),
    ],
    ids=["if-none-match-304", "if-match-412", "if-match-200", "if-none-match-200"],
)
def test_presigned_get_with_conditions(
    s3, stored: str, param: str, header: str, value: str, status: int
) -> None:  # type: ignore[no-untyped-def]  # noqa: PLR0913
    value = value.format(etag=stored)
    response = requests.get(
        presigned(s3, "get_object", Key="r.txt", **{param: value}), headers={header: value}
    )
    assert response.status_code == status
    if status == 412:
        assert error_code(response) == "PreconditionFailed"


def test_presigned_get_with_all_six_overrides(s3, stored: str) -> None:  # type: ignore[no-untyped-def]
    overrides = {
        "ResponseContentType": ("content-type", "application/octet-stream"),
        "ResponseContentDisposition": ("content-disposition", 'attachment; filename="r.txt"'),
        "ResponseContentLanguage": ("content-language", "en"),
        "ResponseCacheControl": ("cache-control", "no-cache"),
        "ResponseContentEncoding": ("content-encoding", "identity"),
        "ResponseExpires": ("expires", "Thu, 01 Dec 2033 16:00:00 GMT"),
    }
    params = {name: value for name, (_, value) in overrides.items()}
    response = requests.get(presigned(s3, "get_object", Key="r.txt", **params))
    assert response.status_code == 200
    got = {header: response.headers[header] for header, _ in overrides.values()}
    assert got == dict(overrides.values())


def test_crlf_in_an_override_is_answered_not_dropped(s3, stored: str) -> None:  # type: ignore[no-untyped-def]
    url = presigned(s3, "get_object", Key="r.txt", ResponseContentDisposition="inline\r\nSet-Cookie: a=b")
    response = requests.get(url)
    assert (response.status_code, error_code(response)) == (400, "InvalidArgument")
    assert "set-cookie" not in response.headers
