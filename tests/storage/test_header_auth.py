"""Header-signed requests in-process: payload forms (signed, UNSIGNED-PAYLOAD, aws-chunked) and refusals.

The streaming forms are signed here from AWS's published algorithm with hashlib/hmac only (no Python
client sends them), so the sandbox's verifier is not checked against itself.
"""

from __future__ import annotations

import hashlib
import hmac
import xml.etree.ElementTree as ET
from datetime import UTC

import pytest
from starlette.testclient import TestClient

from mock_server.core.sandbox import Sandbox

BUCKET = "sandbox-uploads"
HOST = "127.0.0.1:8080"
EMPTY = hashlib.sha256(b"").hexdigest()


def _hmac(key: bytes, text: str) -> bytes:
    return hmac.new(key, text.encode(), hashlib.sha256).digest()


class Signer:
    """AWS SigV4 header signing, from the specification."""

    def __init__(self, sandbox: Sandbox, *, secret: str | None = None, key_id: str | None = None) -> None:
        settings = sandbox.settings
        self.key_id = key_id or settings.s3_access_key_id
        self.secret = secret or settings.s3_secret_access_key
        self.region = settings.s3_region
        self.now = sandbox.clock.now().astimezone(UTC)

    @property
    def amz_date(self) -> str:
        return self.now.strftime("%Y%m%dT%H%M%SZ")

    @property
    def scope(self) -> str:
        return f"{self.amz_date[:8]}/{self.region}/s3/aws4_request"

    def key(self) -> bytes:
        key = _hmac(f"AWS4{self.secret}".encode(), self.amz_date[:8])
        for part in (self.region, "s3", "aws4_request"):
            key = _hmac(key, part)
        return key

    def headers(
        self, method: str, path: str, payload: str, extra: dict[str, str] | None = None, query: str = ""
    ) -> dict[str, str]:
        headers = {
            "host": HOST,
            "x-amz-date": self.amz_date,
            "x-amz-content-sha256": payload,
            **(extra or {}),
        }
        names = sorted(headers)
        canonical = "\n".join(
            [method, path, query, *(f"{n}:{headers[n]}" for n in names), "", ";".join(names), payload]
        )
        to_sign = "\n".join(
            ["AWS4-HMAC-SHA256", self.amz_date, self.scope, hashlib.sha256(canonical.encode()).hexdigest()]
        )
        self.seed = hmac.new(self.key(), to_sign.encode(), hashlib.sha256).hexdigest()
        headers["authorization"] = (
            f"AWS4-HMAC-SHA256 Credential={self.key_id}/{self.scope}, "
            f"SignedHeaders={';'.join(names)}, Signature={self.seed}"
        )
        return headers

    def chunked(self, chunks: list[bytes], *, tamper: bool = False) -> bytes:
        previous, out = self.seed, b""
        for data in [*chunks, b""]:
            to_sign = "\n".join(
                [
                    "AWS4-HMAC-SHA256-PAYLOAD",
                    self.amz_date,
                    self.scope,
                    previous,
                    EMPTY,
                    hashlib.sha256(data).hexdigest(),
                ]
            )
            previous = hmac.new(self.key(), to_sign.encode(), hashlib.sha256).hexdigest()
            signature = ("0" * 64) if tamper and data else previous
            out += f"{len(data):x};chunk-signature={signature}\r\n".encode() + data + b"\r\n"
        return out


def error(response) -> tuple[int, str, str]:  # type: ignore[no-untyped-def]
    root = ET.fromstring(response.content)
    return response.status_code, root.findtext("Code") or "", root.findtext("Message") or ""


PATH = f"/s3/{BUCKET}/k.txt"


class TestPayloadForms:
    def test_signed_payload_hash(self, client: TestClient, sandbox: Sandbox) -> None:
        body = b"signed body"
        headers = Signer(sandbox).headers("PUT", PATH, hashlib.sha256(body).hexdigest())
        assert client.put(PATH, content=body, headers=headers).status_code == 200
        assert sandbox.storage.objects.read(BUCKET, "k.txt") == body

    def test_unsigned_payload(self, client: TestClient, sandbox: Sandbox) -> None:
        headers = Signer(sandbox).headers("PUT", PATH, "UNSIGNED-PAYLOAD")
        assert client.put(PATH, content=b"anything", headers=headers).status_code == 200
        assert sandbox.storage.objects.read(BUCKET, "k.txt") == b"anything"

    def test_date_header_instead_of_x_amz_date(self, client: TestClient, sandbox: Sandbox) -> None:
        signer = Signer(sandbox)
        date = signer.now.strftime("%a, %d %b %Y %H:%M:%S GMT")
        headers = signer.headers("PUT", PATH, "UNSIGNED-PAYLOAD", {"date": date})
        del headers["x-amz-date"]  # signed without it below: rebuild the signature over date only
        names = sorted(n for n in headers if n != "authorization")
        canonical = "\n".join(
            ["PUT", PATH, "", *(f"{n}:{headers[n]}" for n in names), "", ";".join(names), "UNSIGNED-PAYLOAD"]
        )
        to_sign = "\n".join(
            [
                "AWS4-HMAC-SHA256",
                signer.amz_date,
                signer.scope,
                hashlib.sha256(canonical.encode()).hexdigest(),
            ]
        )
        signature = hmac.new(signer.key(), to_sign.encode(), hashlib.sha256).hexdigest()
        headers["authorization"] = (
            f"AWS4-HMAC-SHA256 Credential={signer.key_id}/{signer.scope}, "
            f"SignedHeaders={';'.join(names)}, Signature={signature}"
        )
        assert client.put(PATH, content=b"dated", headers=headers).status_code == 200

    def test_streaming_signed_chunks_are_decoded(self, client: TestClient, sandbox: Sandbox) -> None:
        signer = Signer(sandbox)
        chunks = [b"a" * 65536, b"b" * 1000]
        headers = signer.headers(
            "PUT",
            PATH,
            "STREAMING-AWS4-HMAC-SHA256-PAYLOAD",
            {"content-encoding": "aws-chunked", "x-amz-decoded-content-length": str(66536)},
        )
        response = client.put(PATH, content=signer.chunked(chunks), headers=headers)
        assert response.status_code == 200
        assert sandbox.storage.objects.read(BUCKET, "k.txt") == b"".join(chunks)

    def test_streaming_chunk_with_a_bad_signature_is_refused(
        self, client: TestClient, sandbox: Sandbox
    ) -> None:
        signer = Signer(sandbox)
        headers = signer.headers(
            "PUT",
            PATH,
            "STREAMING-AWS4-HMAC-SHA256-PAYLOAD",
            {"content-encoding": "aws-chunked", "x-amz-decoded-content-length": "5"},
        )
        response = client.put(PATH, content=signer.chunked([b"hello"], tamper=True), headers=headers)
        assert error(response)[:2] == (403, "SignatureDoesNotMatch")
        assert sandbox.storage.objects.head(BUCKET, "k.txt") is None

    def test_streaming_signed_payload_with_trailer(self, client: TestClient, sandbox: Sandbox) -> None:
        signer = Signer(sandbox)
        headers = signer.headers(
            "PUT",
            PATH,
            "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER",
            {
                "content-encoding": "aws-chunked",
                "x-amz-decoded-content-length": "5",
                "x-amz-trailer": "x-amz-checksum-crc32",
            },
        )
        body = signer.chunked([b"hello"])[: -len(b"\r\n")]
        body += b"x-amz-checksum-crc32:NhCmhg==\r\nx-amz-trailer-signature:" + b"0" * 64 + b"\r\n\r\n"
        assert client.put(PATH, content=body, headers=headers).status_code == 200
        assert sandbox.storage.objects.read(BUCKET, "k.txt") == b"hello"

    def test_streaming_unsigned_payload_with_trailer(self, client: TestClient, sandbox: Sandbox) -> None:
        assert put_with_trailer(client, sandbox, b"x-amz-checksum-crc32:NhCmhg==\r\n").status_code == 200
        assert sandbox.storage.objects.read(BUCKET, "k.txt") == b"hello"


def put_with_trailer(  # type: ignore[no-untyped-def]
    client: TestClient, sandbox: Sandbox, trailer: bytes, announced: str = "x-amz-checksum-crc32"
):
    """PUT ``hello`` unsigned aws-chunked, then ``trailer`` (announced in ``x-amz-trailer``)."""
    body = b"5\r\nhello\r\n0\r\n" + trailer + b"\r\n"
    headers = Signer(sandbox).headers(
        "PUT",
        PATH,
        "STREAMING-UNSIGNED-PAYLOAD-TRAILER",
        {"content-encoding": "aws-chunked", "x-amz-decoded-content-length": "5", "x-amz-trailer": announced},
    )
    return client.put(PATH, content=body, headers=headers)


def _sent(client: TestClient, sandbox: Sandbox, case: str):  # type: ignore[no-untyped-def]
    body = b"payload"
    good = hashlib.sha256(body).hexdigest()
    if case == "bad body hash":
        return client.put(PATH, content=body, headers=Signer(sandbox).headers("PUT", PATH, EMPTY))
    if case == "bad content sha256 value":
        return client.put(PATH, content=body, headers=Signer(sandbox).headers("PUT", PATH, "nope"))
    if case == "no content sha256":
        headers = Signer(sandbox).headers("PUT", PATH, good)
        del headers["x-amz-content-sha256"]
        return client.put(PATH, content=body, headers=headers)
    if case == "wrong secret":
        return client.put(PATH, content=body, headers=Signer(sandbox, secret="x").headers("PUT", PATH, good))
    if case == "unknown key":
        signer = Signer(sandbox, key_id="AKIAUNKNOWN000000000")
        return client.put(PATH, content=body, headers=signer.headers("PUT", PATH, good))
    if case == "sigv2 header":
        return client.put(PATH, content=body, headers={"authorization": "AWS AKIA:c2lnbmF0dXJl", "date": "x"})
    if case == "malformed header":
        return client.put(PATH, content=body, headers={"authorization": "AWS4-HMAC-SHA256 Credential=x"})
    if case == "skewed":
        signer = Signer(sandbox)
        sandbox.clock.advance(-16 * 60)
        return client.put(PATH, content=body, headers=signer.headers("PUT", PATH, good))
    if case == "streaming without decoded length":
        headers = Signer(sandbox).headers(
            "PUT", PATH, "STREAMING-UNSIGNED-PAYLOAD-TRAILER", {"content-encoding": "aws-chunked"}
        )
        return client.put(PATH, content=b"0\r\n\r\n", headers=headers)
    if case == "presigned url plus authorization header":
        url = sandbox.storage.presign_put("http://127.0.0.1:8080", BUCKET, "k.txt", expires_in=60).url
        return client.put(
            url[len("http://127.0.0.1:8080") :], content=body, headers={"Authorization": "Bearer app-token"}
        )
    if case == "no date":
        headers = Signer(sandbox).headers("PUT", PATH, good)
        del headers["x-amz-date"]
        return client.put(PATH, content=body, headers=headers)
    if case == "anonymous listing":
        return client.get(f"/s3/{BUCKET}?list-type=2")
    if case == "part number out of range":
        query = "partNumber=0&uploadId=x"
        return client.put(
            f"{PATH}?{query}", content=body, headers=Signer(sandbox).headers("PUT", PATH, good, query=query)
        )
    raise AssertionError(case)


REFUSALS = [
    (
        "bad body hash",
        400,
        "XAmzContentSHA256Mismatch",
        "The provided 'x-amz-content-sha256' header does not match what was computed.",
    ),
    (
        "bad content sha256 value",
        400,
        "InvalidArgument",
        "x-amz-content-sha256 must be UNSIGNED-PAYLOAD, STREAMING-UNSIGNED-PAYLOAD-TRAILER, "
        "STREAMING-AWS4-HMAC-SHA256-PAYLOAD, STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER, "
        "STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD, STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD-TRAILER or a "
        "valid sha256 value.",
    ),
    (
        "no content sha256",
        400,
        "InvalidRequest",
        "Missing required header for this request: x-amz-content-sha256",
    ),
    (
        "wrong secret",
        403,
        "SignatureDoesNotMatch",
        "The request signature we calculated does not match the signature you provided. "
        "Check your key and signing method.",
    ),
    (
        "unknown key",
        403,
        "InvalidAccessKeyId",
        "The AWS Access Key Id you provided does not exist in our records.",
    ),
    (
        "sigv2 header",
        400,
        "InvalidRequest",
        "The authorization mechanism you have provided is not supported. Please use AWS4-HMAC-SHA256.",
    ),
    ("malformed header", 400, "AuthorizationHeaderMalformed", "The authorization header is malformed."),
    (
        "skewed",
        403,
        "RequestTimeTooSkewed",
        "The difference between the request time and the current time is too large.",
    ),
    (
        "streaming without decoded length",
        411,
        "MissingContentLength",
        "You must provide the Content-Length HTTP header.",
    ),
    ("anonymous listing", 403, "AccessDenied", "Access Denied"),
    ("no date", 403, "AccessDenied", "AWS authentication requires a valid Date or x-amz-date header"),
    (
        "presigned url plus authorization header",
        400,
        "InvalidArgument",
        "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, Signature query string "
        "parameter or the Authorization header should be specified",
    ),
    (
        "part number out of range",
        400,
        "InvalidArgument",
        "Part number must be an integer between 1 and 10000, inclusive",
    ),
]


@pytest.mark.parametrize(("case", "status", "code", "message"), REFUSALS, ids=[r[0] for r in REFUSALS])
def test_refusals(
    client: TestClient, sandbox: Sandbox, case: str, status: int, code: str, message: str
) -> None:
    response = _sent(client, sandbox, case)
    assert error(response) == (status, code, message)
    assert sandbox.storage.objects.head(BUCKET, "k.txt") is None


class TestTrailingChecksums:
    """Checksums sent after an aws-chunked body (``x-amz-trailer``) are checked like header ones."""

    def test_a_matching_trailer_is_stored_and_echoed(self, client: TestClient, sandbox: Sandbox) -> None:
        response = put_with_trailer(client, sandbox, b"x-amz-checksum-crc32:NhCmhg==\r\n")
        assert response.status_code == 200
        assert response.headers["x-amz-checksum-crc32"] == "NhCmhg=="

    @pytest.mark.parametrize(
        ("trailer", "announced", "code"),
        [
            (b"x-amz-checksum-crc32:AAAAAA==\r\n", "x-amz-checksum-crc32", "BadDigest"),
            (b"", "x-amz-checksum-crc32", "InvalidRequest"),
            (b"x-amz-checksum-crc32:nope\r\n", "x-amz-checksum-crc32", "InvalidRequest"),
            (b"x-amz-checksum-md4:AAAAAA==\r\n", "x-amz-checksum-md4", "InvalidRequest"),
        ],
        ids=["other-bytes", "announced-but-missing", "malformed", "unknown-algorithm"],
    )
    def test_a_wrong_or_missing_trailer_stores_nothing(
        self, client: TestClient, sandbox: Sandbox, trailer: bytes, announced: str, code: str
    ) -> None:
        response = put_with_trailer(client, sandbox, trailer, announced)
        assert error(response)[:2] == (400, code)
        assert sandbox.storage.objects.head(BUCKET, "k.txt") is None
