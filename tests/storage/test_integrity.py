"""Upload integrity: Content-MD5 and x-amz-checksum-* checked against the body, returned on request."""

from __future__ import annotations

import base64
import hashlib
import zlib

import pytest
from objects_helpers import BASE, BUCKET, multipart, s3_error, signed_path
from starlette.testclient import TestClient

from mock_server.core.sandbox import Sandbox

BODY = b"hello\n"
KEY = "checked/hello.txt"
MD5 = base64.b64encode(hashlib.md5(BODY).digest()).decode()
OTHER_MD5 = base64.b64encode(hashlib.md5(b"other").digest()).decode()
# Known answers for b"hello\n" (CRC32 as in AWS's own example; the others from their check vectors).
CHECKSUMS = {
    "crc32": "NjowIA==",
    "crc32c": "NT3Yvg==",
    "crc64nvme": "akP7S61aVgc=",
    "sha1": base64.b64encode(hashlib.sha1(BODY).digest()).decode(),
    "sha256": base64.b64encode(hashlib.sha256(BODY).digest()).decode(),
}
WRONG = {
    name: base64.b64encode(bytes(len(base64.b64decode(value)))).decode() for name, value in CHECKSUMS.items()
}
# x-amz-* headers must be signed into a presigned URL, this one too.
ENABLED = {"x-amz-checksum-mode": "ENABLED"}
SPELLED = {"crc32": "CRC32", "crc32c": "CRC32C", "crc64nvme": "CRC64NVME", "sha1": "SHA1", "sha256": "SHA256"}


def put(client: TestClient, sandbox: Sandbox, headers: dict[str, str], body: bytes = BODY):  # type: ignore[no-untyped-def]
    signed = {name: value for name, value in headers.items() if name.lower().startswith("x-amz-")}
    return client.put(signed_path(sandbox, "PUT", KEY, headers=signed), content=body, headers=headers)


def test_crc32_known_answer_matches_the_standard_library() -> None:
    assert base64.b64decode(CHECKSUMS["crc32"]) == zlib.crc32(BODY).to_bytes(4, "big")


def test_matching_content_md5_is_stored(client: TestClient, sandbox: Sandbox) -> None:
    response = put(client, sandbox, {"Content-MD5": MD5})
    assert response.status_code == 200
    assert sandbox.storage.objects.read(BUCKET, KEY) == BODY


@pytest.mark.parametrize("algorithm", list(CHECKSUMS), ids=list(CHECKSUMS))
def test_checksum_header_is_verified_echoed_and_returned(
    client: TestClient, sandbox: Sandbox, algorithm: str
) -> None:
    header = f"x-amz-checksum-{algorithm}"
    response = put(
        client, sandbox, {header: CHECKSUMS[algorithm], "x-amz-sdk-checksum-algorithm": SPELLED[algorithm]}
    )
    assert response.status_code == 200, response.text
    assert (response.headers[header], response.headers["x-amz-checksum-type"]) == (
        CHECKSUMS[algorithm],
        "FULL_OBJECT",
    )
    path = signed_path(sandbox, "GET", KEY, headers=ENABLED)
    enabled = client.get(path, headers=ENABLED)
    assert (enabled.headers[header], enabled.headers["x-amz-checksum-type"]) == (
        CHECKSUMS[algorithm],
        "FULL_OBJECT",
    )
    assert header not in client.get(signed_path(sandbox, "GET", KEY)).headers
    ranged = client.get(path, headers={**ENABLED, "Range": "bytes=0-1"})
    assert ranged.status_code == 206 and header not in ranged.headers


def test_an_upload_without_checksum_gets_crc64nvme(client: TestClient, sandbox: Sandbox) -> None:
    assert put(client, sandbox, {}).status_code == 200
    head = client.head(signed_path(sandbox, "HEAD", KEY, headers=ENABLED), headers=ENABLED)
    assert head.headers["x-amz-checksum-crc64nvme"] == CHECKSUMS["crc64nvme"]


MESSAGE_BAD_MD5 = "The Content-MD5 you specified did not match what we received."
REFUSALS = [
    ({"Content-MD5": "not base64!"}, 400, "InvalidDigest", "The Content-MD5 you specified was invalid."),
    (
        {"Content-MD5": base64.b64encode(b"short").decode()},
        400,
        "InvalidDigest",
        "The Content-MD5 you specified was invalid.",
    ),
    ({"Content-MD5": OTHER_MD5}, 400, "BadDigest", MESSAGE_BAD_MD5),
    *(
        (
            {f"x-amz-checksum-{name}": WRONG[name]},
            400,
            "BadDigest",
            f"The {SPELLED[name]} you specified did not match the calculated checksum.",
        )
        for name in CHECKSUMS
    ),
    (
        {"x-amz-checksum-crc32": "AAAA"},
        400,
        "InvalidRequest",
        "Value for x-amz-checksum-crc32 header is invalid.",
    ),
    (
        {"x-amz-checksum-sha256": "%%%"},
        400,
        "InvalidRequest",
        "Value for x-amz-checksum-sha256 header is invalid.",
    ),
    (
        {"x-amz-sdk-checksum-algorithm": "CRC32"},
        400,
        "InvalidRequest",
        "x-amz-sdk-checksum-algorithm specified, but no corresponding x-amz-checksum-* or x-amz-trailer "
        "headers were found.",
    ),
    (
        {"x-amz-sdk-checksum-algorithm": "MD5", "x-amz-checksum-crc32": CHECKSUMS["crc32"]},
        400,
        "InvalidRequest",
        "Value for x-amz-sdk-checksum-algorithm header is invalid.",
    ),
    (
        {"x-amz-sdk-checksum-algorithm": "SHA1", "x-amz-checksum-crc32": CHECKSUMS["crc32"]},
        400,
        "InvalidRequest",
        "Value for x-amz-sdk-checksum-algorithm header is invalid.",
    ),
    (
        {"x-amz-checksum-crc32": CHECKSUMS["crc32"], "x-amz-checksum-sha1": CHECKSUMS["sha1"]},
        400,
        "InvalidRequest",
        "Expecting a single x-amz-checksum- header. Multiple checksum Types are not allowed.",
    ),
]
REFUSAL_IDS = [
    "md5-not-base64",
    "md5-wrong-length",
    "md5-mismatch",
    *(f"{name}-mismatch" for name in CHECKSUMS),
    "crc32-malformed",
    "sha256-malformed",
    "sdk-algorithm-alone",
    "sdk-algorithm-unknown",
    "sdk-algorithm-differs",
    "two-checksums",
]


@pytest.mark.parametrize(("headers", "status", "code", "message"), REFUSALS, ids=REFUSAL_IDS)
def test_refused_uploads_store_nothing(  # noqa: PLR0913
    client: TestClient, sandbox: Sandbox, headers: dict[str, str], status: int, code: str, message: str
) -> None:
    response = put(client, sandbox, headers)
    error = s3_error(response)
    assert (response.status_code, error["Code"], error["Message"]) == (status, code, message)
    assert sandbox.storage.objects.head(BUCKET, KEY) is None


def test_bad_digest_reports_both_digests(client: TestClient, sandbox: Sandbox) -> None:
    error = s3_error(put(client, sandbox, {"Content-MD5": OTHER_MD5}))
    # As S3 writes them: the expected digest in hex, the calculated one in base64.
    assert (error["ExpectedDigest"], error["CalculatedDigest"]) == (hashlib.md5(b"other").hexdigest(), MD5)


def test_invalid_digest_echoes_the_header(client: TestClient, sandbox: Sandbox) -> None:
    assert s3_error(put(client, sandbox, {"Content-MD5": "nope"}))["Content-MD5"] == "nope"


def test_a_single_use_url_survives_a_bad_digest(client: TestClient, sandbox: Sandbox) -> None:
    url = sandbox.storage.presign_put(BASE, BUCKET, KEY, expires_in=900, single_use=True).url[len(BASE) :]
    assert client.put(url, content=BODY, headers={"Content-MD5": OTHER_MD5}).status_code == 400
    assert client.put(url, content=BODY, headers={"Content-MD5": MD5}).status_code == 200


class TestPostChecksumFields:
    def _post(self, client: TestClient, sandbox: Sandbox, checksum: str):  # type: ignore[no-untyped-def]
        url, fields, _ = sandbox.storage.presign_post(
            BASE, BUCKET, KEY, expires_in=600, fields={"x-amz-checksum-sha256": checksum}
        )
        parts = [(name, None, value.encode()) for name, value in fields.items()]
        body, content_type = multipart([*parts, ("file", "hello.txt", BODY)])
        return client.post(url[len(BASE) :], content=body, headers={"Content-Type": content_type})

    def test_matching_checksum_field(self, client: TestClient, sandbox: Sandbox) -> None:
        assert self._post(client, sandbox, CHECKSUMS["sha256"]).status_code == 204
        head = client.head(signed_path(sandbox, "HEAD", KEY, headers=ENABLED), headers=ENABLED)
        assert head.headers["x-amz-checksum-sha256"] == CHECKSUMS["sha256"]

    def test_mismatching_checksum_field(self, client: TestClient, sandbox: Sandbox) -> None:
        response = self._post(client, sandbox, WRONG["sha256"])
        error = s3_error(response)
        assert (response.status_code, error["Code"], error["Message"]) == (
            400,
            "BadDigest",
            "The SHA256 you specified did not match the calculated checksum.",
        )
        assert sandbox.storage.objects.head(BUCKET, KEY) is None
