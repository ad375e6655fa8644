"""S3's own answer to requests S3 refuses: status, code and message, in well-formed XML."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from urllib.parse import quote

import boto3
import pytest
from botocore.config import Config
from objects_helpers import BASE, BUCKET, multipart, s3_error, signed_path
from starlette.testclient import TestClient

from mock_server.core.sandbox import Sandbox
from mock_server.storage import sigv4
from mock_server.storage.service import STORAGE_PREFIX, object_path

SIGV2 = "The authorization mechanism you have provided is not supported. Please use AWS4-HMAC-SHA256."


def sigv2_client(sandbox: Sandbox):  # type: ignore[no-untyped-def]
    """boto3 as it presigns without ``signature_version="s3v4"``: SigV2 query auth."""
    keys = sandbox.storage.credentials
    return boto3.client(
        "s3",
        endpoint_url=f"{BASE}/s3",
        region_name="us-east-1",
        aws_access_key_id=keys.access_key_id,
        aws_secret_access_key=keys.secret_access_key,
        config=Config(signature_version="s3", s3={"addressing_style": "path"}),
    )


@pytest.mark.parametrize(
    ("operation", "method"), [("put_object", "PUT"), ("get_object", "GET")], ids=["put", "get"]
)
def test_sigv2_presigned_url(client: TestClient, sandbox: Sandbox, operation: str, method: str) -> None:
    url = sigv2_client(sandbox).generate_presigned_url(operation, Params={"Bucket": BUCKET, "Key": "a.txt"})
    assert "AWSAccessKeyId=" in url and "Signature=" in url
    response = client.request(method, url[len(BASE) :], content=b"x" if method == "PUT" else None)
    error = s3_error(response)
    assert (response.status_code, error["Code"], error["Message"]) == (400, "InvalidRequest", SIGV2)


def test_sigv2_post_form(client: TestClient, sandbox: Sandbox) -> None:
    post = sigv2_client(sandbox).generate_presigned_post(BUCKET, "a.txt")
    assert {"AWSAccessKeyId", "signature", "policy"} <= set(post["fields"])
    response = client.post(post["url"][len(BASE) :], data=post["fields"], files={"file": ("a.txt", b"x")})
    error = s3_error(response)
    assert (response.status_code, error["Code"], error["Message"]) == (400, "InvalidRequest", SIGV2)


def _chunks() -> Iterator[bytes]:
    yield b"abc"


@pytest.mark.parametrize(
    ("headers", "status", "code", "message", "extra"),
    [
        (
            {},
            501,
            "NotImplemented",
            "A header you provided implies functionality that is not implemented",
            {"Header": "Transfer-Encoding"},
        ),
        (
            {"Content-Encoding": "aws-chunked"},
            411,
            "MissingContentLength",
            "You must provide the Content-Length HTTP header.",
            {},
        ),
    ],
    ids=["chunked", "aws-chunked-without-length"],
)
def test_chunked_put_without_length(  # noqa: PLR0913
    client: TestClient,
    sandbox: Sandbox,
    headers: dict[str, str],
    status: int,
    code: str,
    message: str,
    extra: dict[str, str],
) -> None:
    response = client.put(signed_path(sandbox, "PUT", "chunked.bin"), content=_chunks(), headers=headers)
    error = s3_error(response)
    assert (response.status_code, error["Code"], error["Message"]) == (status, code, message)
    assert {name: error[name] for name in extra} == extra


@pytest.mark.parametrize("method", ["PUT", "GET", "HEAD"])
@pytest.mark.parametrize(
    ("key", "refused"),
    [("k" * 1024, False), ("k" * 1025, True), ("é" * 513, True)],
    ids=["1024-bytes", "1025-bytes", "1026-utf8-bytes"],
)
def test_key_length(client: TestClient, sandbox: Sandbox, method: str, key: str, refused: bool) -> None:
    response = client.request(
        method, signed_path(sandbox, method, key), content=b"x" if method == "PUT" else None
    )
    if not refused:
        assert response.status_code in (200, 404)
        return
    assert response.status_code == 400
    if method != "HEAD":
        error = s3_error(response)
        assert (error["Code"], error["Message"], error["MaxSizeAllowed"]) == (
            "KeyTooLongError",
            "Your key is too long",
            "1024",
        )
        assert error["Size"] == str(len(key.encode()))


def _presign_without_host(sandbox: Sandbox, key: str) -> str:
    keys = sandbox.storage.credentials
    amz_date = sandbox.clock.now().strftime(sigv4.AMZ_DATE_FORMAT)
    scope = f"{amz_date[:8]}/{keys.region}/s3/aws4_request"
    params = [
        ("X-Amz-Algorithm", sigv4.ALGORITHM),
        ("X-Amz-Credential", f"{keys.access_key_id}/{scope}"),
        ("X-Amz-Date", amz_date),
        ("X-Amz-Expires", "900"),
        ("X-Amz-SignedHeaders", "content-type"),
    ]
    query = sigv4.canonical_query(params)
    path = object_path(STORAGE_PREFIX, BUCKET, key)
    canonical = sigv4.canonical_request(
        "PUT", path, query, [("content-type", "text/plain")], "content-type", sigv4.UNSIGNED_PAYLOAD
    )
    to_sign = sigv4.string_to_sign(amz_date, scope, canonical)
    signature = sigv4.hmac_hex(sigv4.signing_key(keys.secret_access_key, amz_date[:8], keys.region), to_sign)
    return f"{path}?{query}&X-Amz-Signature={signature}"


def test_presigned_url_that_does_not_sign_host(client: TestClient, sandbox: Sandbox) -> None:
    response = client.put(
        _presign_without_host(sandbox, "h.txt"), content=b"x", headers={"Content-Type": "text/plain"}
    )
    error = s3_error(response)
    assert (response.status_code, error["Code"], error["Message"], error["HeadersNotSigned"]) == (
        403,
        "AccessDenied",
        "There were headers present in the request which were not signed",
        "host",
    )


def _signed_policy(sandbox: Sandbox, text: str, key: str) -> dict[str, str]:
    """Form fields for a hand-written policy ``text`` (with the signing fields' conditions in it)."""
    keys = sandbox.storage.credentials
    amz_date = sandbox.clock.now().strftime(sigv4.AMZ_DATE_FORMAT)
    policy = base64.b64encode(text.encode()).decode()
    key_bytes = sigv4.signing_key(keys.secret_access_key, amz_date[:8], keys.region)
    return {
        "key": key,
        "x-amz-algorithm": sigv4.ALGORITHM,
        "x-amz-credential": f"{keys.access_key_id}/{amz_date[:8]}/{keys.region}/s3/aws4_request",
        "x-amz-date": amz_date,
        "policy": policy,
        "x-amz-signature": hmac.new(key_bytes, policy.encode(), hashlib.sha256).hexdigest(),
    }


def test_policy_with_a_repeated_json_member(client: TestClient, sandbox: Sandbox) -> None:
    expiration = json.dumps("2099-01-01T00:00:00Z")
    text = (
        f'{{"expiration": {expiration}, "conditions": [{{"bucket": "{BUCKET}"}}, {{"key": "a"}}, '
        f'{{"key": "b"}}], "conditions": [["starts-with", "$key", ""]]}}'
    )
    fields = _signed_policy(sandbox, text, "a")
    response = client.post(f"{STORAGE_PREFIX}/{BUCKET}", data=fields, files={"file": ("a", b"x")})
    error = s3_error(response)
    assert (response.status_code, error["Code"], error["Message"]) == (
        400,
        "InvalidPolicyDocument",
        "Invalid Policy: Invalid JSON.",
    )


@pytest.mark.parametrize("repeated", ["key", "Key", "policy", "Content-Type"])
def test_post_form_with_a_repeated_field(client: TestClient, sandbox: Sandbox, repeated: str) -> None:
    url, fields, _ = sandbox.storage.presign_post(
        BASE, BUCKET, "r.txt", expires_in=600, fields={"Content-Type": "text/plain"}
    )
    parts = [(name, None, value.encode()) for name, value in fields.items()]
    body, content_type = multipart([*parts, (repeated, None, b"other"), ("file", "r.txt", b"x")])
    response = client.post(url[len(BASE) :], content=body, headers={"Content-Type": content_type})
    error = s3_error(response)
    assert (response.status_code, error["Code"], error["ArgumentName"], error["ArgumentValue"]) == (
        400,
        "InvalidArgument",
        repeated,
        "other",
    )
    assert error["Message"] == f"Bucket POST must contain each field only once; '{repeated}' is repeated."
    assert sandbox.storage.objects.head(BUCKET, "r.txt") is None


@pytest.mark.parametrize(
    "key",
    ["ctrl\x01\x02\x1f.txt", "tags<&>'\".txt", "cr\rlf\n.txt", "del\x7f-and-\ufffe.txt", "]]>cdata.txt"],
    ids=["c0-controls", "markup", "cr-lf", "del-and-non-character", "cdata-end"],
)
def test_error_bodies_are_well_formed_whatever_the_key(
    client: TestClient, sandbox: Sandbox, key: str
) -> None:
    response = client.get(signed_path(sandbox, "GET", key))
    error = s3_error(response)  # parses with a real XML parser
    assert (response.status_code, error["Code"]) == (404, "NoSuchKey")
    printable = "".join(
        c if c in "\t\n\r" or " " <= c <= "\ud7ff" or "\ue000" <= c <= "\ufffd" else "\ufffd" for c in key
    )
    assert error["Key"] == printable.replace("\r", "\n")


def test_post_response_is_well_formed_for_any_key(client: TestClient, sandbox: Sandbox) -> None:
    key = "odd/\x01<&>.txt"
    url, fields, _ = sandbox.storage.presign_post(
        BASE, BUCKET, key, expires_in=600, fields={"success_action_status": "201"}
    )
    response = client.post(url[len(BASE) :], data=fields, files={"file": ("x", b"x")})
    assert response.status_code == 201
    root = ET.fromstring(response.content)
    assert root.findtext("Key") == "odd/\ufffd<&>.txt"
    assert root.findtext("Location").endswith(quote(key, safe=""))


@pytest.mark.parametrize(("size", "status"), [(2048, 200), (2049, 400)], ids=["at-cap", "over-cap"])
def test_metadata_cap(client: TestClient, sandbox: Sandbox, size: int, status: int) -> None:
    # S3 counts the user-defined names (without the prefix) and values: 2 KB at most.
    headers = {"x-amz-meta-note": "n" * (size - len("note"))}
    response = client.put(
        signed_path(sandbox, "PUT", "meta.txt", headers=headers), content=b"x", headers=headers
    )
    assert response.status_code == status
    if status == 400:
        error = s3_error(response)
        assert (error["Code"], error["Message"], error["Size"], error["MaxSizeAllowed"]) == (
            "MetadataTooLarge",
            "Your metadata headers exceed the maximum allowed metadata size.",
            str(size),
            "2048",
        )


def test_post_key_over_1024_bytes(client: TestClient, sandbox: Sandbox) -> None:
    url, fields, _ = sandbox.storage.presign_post(BASE, BUCKET, "long/", expires_in=600, key_starts_with=True)
    fields = {**fields, "key": "long/" + "k" * 1020}
    response = client.post(url[len(BASE) :], data=fields, files={"file": ("x", b"x")})
    error = s3_error(response)
    assert (response.status_code, error["Code"], error["Size"]) == (400, "KeyTooLongError", "1025")


def test_binary_part_not_named_file_is_a_malformed_field(client: TestClient, sandbox: Sandbox) -> None:
    url, fields, _ = sandbox.storage.presign_post(BASE, BUCKET, "b.bin", expires_in=600)
    parts = [(name, None, value.encode()) for name, value in fields.items()]
    body, content_type = multipart([*parts, ("attachment", "b.png", b"\x89PNG\xff"), ("file", "b.png", b"x")])
    response = client.post(url[len(BASE) :], content=body, headers={"Content-Type": content_type})
    error = s3_error(response)
    assert (response.status_code, error["Code"], error["Message"], error["ArgumentName"]) == (
        400,
        "InvalidArgument",
        "Malformed Unicode code sequence in the field.",
        "formField",
    )
