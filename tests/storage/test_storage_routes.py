"""The storage endpoints end to end in-process: issue with ``sandbox.storage``, then upload/download."""

from __future__ import annotations

import hashlib
import xml.etree.ElementTree as ET
from collections.abc import Iterator

import pytest
from starlette.testclient import TestClient

from mock_server.core.sandbox import Sandbox

BASE = "http://127.0.0.1:8080"
BUCKET = "sandbox-uploads"


def s3_error(response) -> dict[str, str]:  # type: ignore[no-untyped-def]
    assert response.headers["content-type"].startswith("application/xml")
    root = ET.fromstring(response.content)
    assert root.tag == "Error"
    assert response.headers["x-amz-request-id"] == root.findtext("RequestId")
    return {child.tag: child.text or "" for child in root}


def presign(sandbox: Sandbox, key: str = "docs/report.pdf", **options: object) -> str:
    options.setdefault("expires_in", 900)
    return sandbox.storage.presign_put(BASE, BUCKET, key, **options).url  # type: ignore[arg-type]


def path_of(url: str) -> str:
    return url[len(BASE) :]


class TestPresignedPut:
    def test_upload_stores_exact_bytes(self, client: TestClient, sandbox: Sandbox) -> None:
        url = presign(sandbox, content_type="application/pdf")
        data = b"%PDF-1.7 sandbox"
        response = client.put(path_of(url), content=data, headers={"Content-Type": "application/pdf"})
        assert response.status_code == 200 and response.content == b""
        assert response.headers["etag"] == f'"{hashlib.md5(data).hexdigest()}"'
        listed = client.get("/__admin/objects", params={"bucket": BUCKET}).json()["objects"]
        assert [(o["key"], o["size"], o["sha256"], o["contentType"]) for o in listed] == [
            ("docs/report.pdf", len(data), hashlib.sha256(data).hexdigest(), "application/pdf")
        ]
        assert client.get(f"/__admin/objects/{BUCKET}/docs/report.pdf").content == data

    def test_signed_content_type_must_match(self, client: TestClient, sandbox: Sandbox) -> None:
        url = presign(sandbox, content_type="application/pdf")
        response = client.put(path_of(url), content=b"x", headers={"Content-Type": "application/dicom"})
        error = s3_error(response)
        assert response.status_code == 403 and error["Code"] == "SignatureDoesNotMatch"
        assert "content-type:application/dicom" in error["CanonicalRequest"]

    def test_expired_url_on_the_clock(self, client: TestClient, sandbox: Sandbox) -> None:
        url = presign(sandbox)
        sandbox.clock.advance(901)
        response = client.put(path_of(url), content=b"x")
        error = s3_error(response)
        assert (response.status_code, error["Code"], error["Message"]) == (
            403,
            "AccessDenied",
            "Request has expired",
        )
        assert error["X-Amz-Expires"] == "900" and error["Expires"] and error["ServerTime"]

    def test_issued_already_expired(self, client: TestClient, sandbox: Sandbox) -> None:
        response = client.put(path_of(presign(sandbox, expires_in=0)), content=b"x")
        assert s3_error(response)["Message"] == "Request has expired"

    def test_chunked_without_length_is_not_implemented(self, client: TestClient, sandbox: Sandbox) -> None:
        def chunked() -> Iterator[bytes]:
            yield b"abc"

        response = client.put(path_of(presign(sandbox)), content=chunked())
        error = s3_error(response)
        assert (response.status_code, error["Code"], error["Header"]) == (
            501,
            "NotImplemented",
            "Transfer-Encoding",
        )

    def test_size_cap_from_the_issuer(self, client: TestClient, sandbox: Sandbox) -> None:
        response = client.put(path_of(presign(sandbox, max_bytes=10)), content=b"x" * 11)
        error = s3_error(response)
        assert (response.status_code, error["Code"]) == (400, "EntityTooLarge")
        assert (error["ProposedSize"], error["MaxSizeAllowed"]) == ("11", "10")
        assert sandbox.storage.objects.list(BUCKET) == []

    def test_single_use(self, client: TestClient, sandbox: Sandbox) -> None:
        url = presign(sandbox, single_use=True)
        assert client.put(path_of(url), content=b"first").status_code == 200
        again = client.put(path_of(url), content=b"second")
        assert again.status_code == 403 and "already been used" in s3_error(again)["Message"]
        assert sandbox.storage.objects.read(BUCKET, "docs/report.pdf") == b"first"

    def test_failed_upload_does_not_consume_a_single_use_url(
        self, client: TestClient, sandbox: Sandbox
    ) -> None:
        url = presign(sandbox, single_use=True, max_bytes=3)
        assert client.put(path_of(url), content=b"toolong").status_code == 400
        assert client.put(path_of(url), content=b"ok").status_code == 200

    def test_host_mismatch_is_explained(self, client: TestClient, sandbox: Sandbox) -> None:
        url = sandbox.storage.presign_put("http://localhost:9999", BUCKET, "k", expires_in=60).url
        response = client.put(url.split("9999", 1)[1], content=b"x")
        error = s3_error(response)
        assert error["Code"] == "SignatureDoesNotMatch"
        assert "localhost:9999" in error["Message"] and "127.0.0.1:8080" in error["Message"]

    def test_tampered_key_is_refused(self, client: TestClient, sandbox: Sandbox) -> None:
        url = presign(sandbox, key="a/one.pdf")
        response = client.put(path_of(url).replace("one.pdf", "two.pdf"), content=b"x")
        assert s3_error(response)["Code"] == "SignatureDoesNotMatch"

    def test_anonymous_put_is_denied(self, client: TestClient) -> None:
        response = client.put(f"/s3/{BUCKET}/k", content=b"x")
        assert (response.status_code, s3_error(response)["Message"]) == (403, "Access Denied")

    def test_unknown_bucket(self, client: TestClient, sandbox: Sandbox) -> None:
        url = sandbox.storage.presign_put(BASE, "nope", "k", expires_in=60).url
        assert s3_error(client.put(path_of(url), content=b"x"))["Code"] == "NoSuchBucket"


class TestPresignedGet:
    def test_download_roundtrip_and_expiry(self, client: TestClient, sandbox: Sandbox) -> None:
        client.put(path_of(presign(sandbox)), content=b"payload", headers={"Content-Type": "application/pdf"})
        url = sandbox.storage.presign_get(BASE, BUCKET, "docs/report.pdf", expires_in=60).url
        response = client.get(path_of(url))
        assert (response.status_code, response.content) == (200, b"payload")
        assert response.headers["content-type"] == "application/pdf"
        assert s3_error(client.put(path_of(url), content=b"x"))["Code"] == "SignatureDoesNotMatch"
        sandbox.clock.advance(61)
        assert s3_error(client.get(path_of(url)))["Message"] == "Request has expired"

    def test_signed_content_disposition(self, client: TestClient, sandbox: Sandbox) -> None:
        client.put(path_of(presign(sandbox)), content=b"pdf")
        disposition = 'attachment; filename="report.pdf"'
        url = sandbox.storage.presign_get(
            BASE, BUCKET, "docs/report.pdf", expires_in=60, content_disposition=disposition
        ).url
        assert client.get(path_of(url)).headers["content-disposition"] == disposition
        edited = path_of(url).replace("attachment", "inline")
        assert s3_error(client.get(edited))["Code"] == "SignatureDoesNotMatch"


class TestSignedDownload:
    def test_gcs_style_url(self, client: TestClient, sandbox: Sandbox) -> None:
        client.put(path_of(presign(sandbox)), content=b"gcs", headers={"Content-Type": "text/plain"})
        url = sandbox.storage.download_url(BASE, BUCKET, "docs/report.pdf", expires_in=60).url
        assert "X-Goog-Signature=" in url
        response = client.get(path_of(url))
        assert (response.status_code, response.content, response.headers["content-type"]) == (
            200,
            b"gcs",
            "text/plain",
        )
        tampered = client.get(path_of(url).replace("report.pdf", "other.pdf"))
        assert (tampered.status_code, ET.fromstring(tampered.content).findtext("Code")) == (
            403,
            "SignatureDoesNotMatch",
        )
        sandbox.clock.advance(61)
        expired = client.get(path_of(url))
        assert (expired.status_code, ET.fromstring(expired.content).findtext("Code")) == (400, "ExpiredToken")


@pytest.mark.parametrize(
    "method, signed, sent",
    [
        ("PUT", "put", b"first"),  # 200
        ("PUT", "put-used", b"again"),  # 403 AccessDenied: single use
        ("GET", "get", None),  # 200
        ("HEAD", "get", None),  # 200, no body
        ("GET", "get-other", None),  # 404 NoSuchKey
    ],
)
def test_every_s3_answer_carries_its_request_ids(
    client: TestClient, sandbox: Sandbox, method: str, signed: str, sent: bytes | None
) -> None:
    """S3 puts x-amz-request-id and x-amz-id-2 on every answer, success or error; the request id is the
    one the journal holds (and an error body's RequestId)."""
    put_url = presign(sandbox, single_use=True)
    if signed != "put":
        assert client.put(path_of(put_url), content=b"stored").status_code == 200
    url = {
        "put": put_url,
        "put-used": put_url,
        "get": sandbox.storage.presign_get(BASE, BUCKET, "docs/report.pdf", expires_in=60).url,
        "get-other": sandbox.storage.presign_get(BASE, BUCKET, "docs/other.pdf", expires_in=60).url,
    }[signed]
    response = client.request(method, path_of(url), content=sent)
    request_id = response.headers["x-amz-request-id"]
    assert response.headers.get_list("x-amz-request-id") == [request_id]
    assert len(response.headers["x-amz-id-2"]) == 56
    assert sandbox.journal.entries(correlation_id=request_id)
    if response.status_code >= 300 and method != "HEAD":
        assert s3_error(response)["HostId"] == response.headers["x-amz-id-2"]


@pytest.mark.parametrize("case", ["ok", "tampered", "unsigned", "expired", "range", "if-match"])
def test_gcs_style_downloads_carry_no_s3_request_ids(client: TestClient, sandbox: Sandbox, case: str) -> None:
    """GCS-style download links answer as GCS does, errors included: no x-amz headers, and an error body
    without S3's RequestId/HostId."""
    client.put(path_of(presign(sandbox)), content=b"gcs")
    url = path_of(sandbox.storage.download_url(BASE, BUCKET, "docs/report.pdf", expires_in=60).url)
    headers = {}
    if case == "tampered":
        url = url.replace("report.pdf", "other.pdf")
    elif case == "unsigned":
        url = url.split("?", 1)[0]
    elif case == "expired":
        sandbox.clock.advance(61)
    elif case == "range":
        headers = {"Range": "bytes=9999-"}
    elif case == "if-match":
        headers = {"If-Match": '"nope"'}
    response = client.get(url, headers=headers)
    assert (response.status_code == 200) == (case == "ok")
    assert "x-amz-request-id" not in response.headers and "x-amz-id-2" not in response.headers
    if case != "ok":
        root = ET.fromstring(response.content)
        assert root.findtext("Code") and root.find("RequestId") is None and root.find("HostId") is None


def _form(fields: dict[str, str], file_name: str = "picture.png", data: bytes = b"\x89PNG") -> dict:  # type: ignore[type-arg]
    return {"data": fields, "files": {"file": (file_name, data, "image/png")}}


class TestPostPolicy:
    @pytest.fixture
    def policy(self, sandbox: Sandbox) -> tuple[str, dict[str, str]]:
        url, fields, _ = sandbox.storage.presign_post(
            BASE,
            BUCKET,
            "async_uploads/abc",
            expires_in=3600,
            key_starts_with=True,
            fields={"success_action_status": "201", "Content-Type": "image/png"},
        )
        return url, fields

    def test_upload_with_filename_variable(
        self, client: TestClient, sandbox: Sandbox, policy: tuple[str, dict[str, str]]
    ) -> None:
        url, fields = policy
        response = client.post(path_of(url), **_form({**fields, "key": "async_uploads/abc/${filename}"}))
        assert response.status_code == 201, response.text
        root = ET.fromstring(response.content)
        assert root.tag == "PostResponse"
        assert root.findtext("Key") == "async_uploads/abc/picture.png"
        assert root.findtext("Location").endswith("/s3/sandbox-uploads/async_uploads%2Fabc%2Fpicture.png")
        assert sandbox.storage.objects.read(BUCKET, "async_uploads/abc/picture.png") == b"\x89PNG"

    def test_expired_policy(
        self, client: TestClient, sandbox: Sandbox, policy: tuple[str, dict[str, str]]
    ) -> None:
        url, fields = policy
        sandbox.clock.advance(3601)
        response = client.post(path_of(url), **_form(fields))
        assert (response.status_code, s3_error(response)["Message"]) == (
            403,
            "Invalid according to Policy: Policy expired.",
        )

    def test_extra_field_is_refused(self, client: TestClient, policy: tuple[str, dict[str, str]]) -> None:
        url, fields = policy
        response = client.post(path_of(url), **_form({**fields, "x-amz-meta-note": "hi"}))
        assert (
            s3_error(response)["Message"]
            == "Invalid according to Policy: Extra input fields: x-amz-meta-note"
        )

    def test_not_multipart(self, client: TestClient, policy: tuple[str, dict[str, str]]) -> None:
        url, _ = policy
        response = client.post(
            path_of(url), content=b"key=x", headers={"Content-Type": "application/x-www-form-urlencoded"}
        )
        error = s3_error(response)
        assert (response.status_code, error["Code"]) == (412, "PreconditionFailed")

    def test_no_file(self, client: TestClient, policy: tuple[str, dict[str, str]]) -> None:
        url, fields = policy
        response = client.post(path_of(url), data=fields, files={"other": ("x", b"", "text/plain")})
        assert s3_error(response)["Code"] == "InvalidArgument"

    def test_size_range(self, client: TestClient, sandbox: Sandbox) -> None:
        url, fields, _ = sandbox.storage.presign_post(
            BASE, BUCKET, "sized", expires_in=60, conditions=[["content-length-range", 1, 4]]
        )
        response = client.post(path_of(url), **_form(fields, data=b"12345"))
        error = s3_error(response)
        assert (error["Code"], error["MaxSizeAllowed"]) == ("EntityTooLarge", "4")
        assert sandbox.storage.objects.list(BUCKET) == []


def test_reset_drops_objects_and_journal(client: TestClient, sandbox: Sandbox) -> None:
    client.put(path_of(presign(sandbox)), content=b"x")
    journal = client.get("/__admin/requests", params={"operation": "storage.putObject"}).json()["requests"]
    assert journal and "X-Amz-Signature" in journal[0]["query"]
    assert "***" in journal[0]["query"]["X-Amz-Signature"]
    assert client.post("/__admin/reset").json() == {"status": "reset"}
    assert client.get("/__admin/objects", params={"bucket": BUCKET}).json()["objects"] == []
