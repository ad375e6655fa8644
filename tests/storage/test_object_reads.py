"""Objects keep what was stored: headers, metadata, Range, conditional requests, response-* overrides."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from email.header import decode_header, make_header
from email.utils import format_datetime

import pytest
from objects_helpers import BASE, BUCKET, multipart, s3_error, signed_path
from starlette.testclient import TestClient

from mock_server.core.sandbox import Sandbox

BODY = b"0123456789"
ETAG = f'"{hashlib.md5(BODY).hexdigest()}"'
STORED = {
    "Cache-Control": "max-age=60",
    "Content-Disposition": 'attachment; filename="digits.txt"',
    "Content-Encoding": "identity",
    "Content-Language": "en-NZ",
    "Expires": "Wed, 21 Oct 2037 07:28:00 GMT",
}
META = {"x-amz-meta-owner": "Ward 7", "x-amz-meta-case-id": "A123456"}


@pytest.fixture
def stored(client: TestClient, sandbox: Sandbox) -> str:
    """Key of an object PUT with every stored header and two metadata entries."""
    key = "docs/digits.txt"
    headers = {**STORED, **META, "Content-Type": "text/plain"}
    response = client.put(signed_path(sandbox, "PUT", key, headers=META), content=BODY, headers=headers)
    assert response.status_code == 200, response.text
    return key


def get(client: TestClient, sandbox: Sandbox, key: str, method: str = "GET", **options: object):  # type: ignore[no-untyped-def]
    query = options.pop("query", None)
    headers = options.pop("headers", None)
    return client.request(method, signed_path(sandbox, method, key, query=query), headers=headers)  # type: ignore[arg-type]


@pytest.mark.parametrize("method", ["GET", "HEAD"])
def test_get_and_head_return_what_was_stored(
    client: TestClient, sandbox: Sandbox, stored: str, method: str
) -> None:
    response = get(client, sandbox, stored, method)
    assert response.status_code == 200
    for name, value in {**STORED, **META}.items():
        assert response.headers[name] == value
    assert response.headers["etag"] == ETAG
    assert response.headers["content-type"] == "text/plain"
    assert response.headers["content-length"] == str(len(BODY))
    assert response.headers["accept-ranges"] == "bytes"
    assert response.headers["last-modified"] == format_datetime(
        sandbox.storage.objects.head(BUCKET, stored).uploaded_at.replace(microsecond=0), usegmt=True
    )
    assert response.content == (BODY if method == "GET" else b"")


def test_metadata_is_listed_without_its_prefix(sandbox: Sandbox, stored: str) -> None:
    assert sandbox.storage.objects.head(BUCKET, stored).metadata == {"owner": "Ward 7", "case-id": "A123456"}


@pytest.mark.parametrize(
    ("header", "status", "content", "content_range"),
    [
        ("bytes=1-3", 206, b"123", "bytes 1-3/10"),
        ("bytes=7-", 206, b"789", "bytes 7-9/10"),
        ("bytes=-2", 206, b"89", "bytes 8-9/10"),
        ("bytes=5-100", 206, b"56789", "bytes 5-9/10"),
        ("bytes=-100", 206, BODY, "bytes 0-9/10"),
        ("bytes=0-0", 206, b"0", "bytes 0-0/10"),
        ("bytes=1-2,4-5", 200, BODY, None),
        ("bytes=3-1", 200, BODY, None),
        ("items=1-3", 200, BODY, None),
        ("bytes=a-b", 200, BODY, None),
    ],
    ids=[
        "closed",
        "open-ended",
        "suffix",
        "end-past-size",
        "suffix-past-size",
        "one-byte",
        "several-ignored",
        "reversed-ignored",
        "other-unit-ignored",
        "unreadable-ignored",
    ],
)
def test_range(  # noqa: PLR0913
    client: TestClient,
    sandbox: Sandbox,
    stored: str,
    header: str,
    status: int,
    content: bytes,
    content_range: str | None,
) -> None:
    response = get(client, sandbox, stored, headers={"Range": header})
    assert (response.status_code, response.content) == (status, content)
    assert response.headers.get("content-range") == content_range
    assert response.headers["content-length"] == str(len(content))


@pytest.mark.parametrize(
    "header", ["bytes=10-", "bytes=50-60", "bytes=-0"], ids=["at-size", "past-size", "empty-suffix"]
)
def test_unsatisfiable_range_is_416(client: TestClient, sandbox: Sandbox, stored: str, header: str) -> None:
    response = get(client, sandbox, stored, headers={"Range": header})
    error = s3_error(response)
    assert (response.status_code, error["Code"], error["Message"]) == (
        416,
        "InvalidRange",
        "The requested range is not satisfiable",
    )
    assert (error["RangeRequested"], error["ActualObjectSize"]) == (header, "10")


def test_head_with_range_is_206(client: TestClient, sandbox: Sandbox, stored: str) -> None:
    response = get(client, sandbox, stored, "HEAD", headers={"Range": "bytes=2-4"})
    assert (response.status_code, response.headers["content-range"], response.headers["content-length"]) == (
        206,
        "bytes 2-4/10",
        "3",
    )


def _when(sandbox: Sandbox, key: str, seconds: int) -> str:
    moment = sandbox.storage.objects.head(BUCKET, key).uploaded_at + timedelta(seconds=seconds)
    return format_datetime(moment.replace(microsecond=0), usegmt=True)


CONDITIONS = [
    ({"If-Match": ETAG}, 200, None),
    ({"If-Match": '"0000"'}, 412, "If-Match"),
    ({"If-Match": "*"}, 200, None),
    ({"If-Match": f'"0000", {ETAG}'}, 200, None),
    ({"If-None-Match": ETAG}, 304, None),
    ({"If-None-Match": '"0000"'}, 200, None),
    ({"If-Modified-Since": +60}, 304, None),
    ({"If-Modified-Since": -60}, 200, None),
    ({"If-Unmodified-Since": -60}, 412, "If-Unmodified-Since"),
    ({"If-Unmodified-Since": +60}, 200, None),
    ({"If-Match": ETAG, "If-Unmodified-Since": -60}, 200, None),
    ({"If-None-Match": ETAG, "If-Modified-Since": -60}, 304, None),
    ({"If-None-Match": '"0000"', "If-Modified-Since": +60}, 200, None),
    ({"If-Modified-Since": "not a date"}, 200, None),
]


@pytest.mark.parametrize(
    ("conditions", "status", "failed"),
    CONDITIONS,
    ids=[
        "match",
        "match-fails",
        "match-any",
        "match-in-list",
        "none-match-matches",
        "none-match-differs",
        "modified-since-later",
        "modified-since-earlier",
        "unmodified-since-earlier",
        "unmodified-since-later",
        "match-wins-over-unmodified-since",
        "none-match-wins-over-modified-since",
        "none-match-differs-wins",
        "unreadable-date-ignored",
    ],
)
@pytest.mark.parametrize("method", ["GET", "HEAD"])
def test_conditional_requests(  # noqa: PLR0913
    client: TestClient,
    sandbox: Sandbox,
    stored: str,
    conditions: dict[str, object],
    status: int,
    failed: str | None,
    method: str,
) -> None:
    sandbox.clock.advance(120)  # so "60 s after the upload" is a date in the past
    headers = {
        name: _when(sandbox, stored, value) if isinstance(value, int) else str(value)
        for name, value in conditions.items()
    }
    response = get(client, sandbox, stored, method, headers=headers)
    assert response.status_code == status
    if status == 304:
        assert response.content == b"" and response.headers["etag"] == ETAG
        assert "last-modified" in response.headers
    if failed and method == "GET":
        error = s3_error(response)
        assert (error["Code"], error["Message"], error["Condition"]) == (
            "PreconditionFailed",
            "At least one of the pre-conditions you specified did not hold",
            failed,
        )


def test_if_modified_since_in_the_future_is_ignored(
    client: TestClient, sandbox: Sandbox, stored: str
) -> None:
    # RFC 9110: a date later than the server's clock is not valid, so the condition is not applied.
    response = get(client, sandbox, stored, headers={"If-Modified-Since": _when(sandbox, stored, 3600)})
    assert (response.status_code, response.content) == (200, BODY)


OVERRIDES = {
    "response-content-type": ("content-type", "application/x-download"),
    "response-content-language": ("content-language", "mi"),
    "response-expires": ("expires", "Thu, 01 Dec 2033 16:00:00 GMT"),
    "response-cache-control": ("cache-control", "no-store"),
    "response-content-disposition": ("content-disposition", 'inline; filename="x.txt"'),
    # Not a coding the test client would try to undo.
    "response-content-encoding": ("content-encoding", "x-sandbox"),
}


@pytest.mark.parametrize("parameter", list(OVERRIDES), ids=list(OVERRIDES))
def test_each_response_override(client: TestClient, sandbox: Sandbox, stored: str, parameter: str) -> None:
    header, value = OVERRIDES[parameter]
    response = get(client, sandbox, stored, query={parameter: value})
    assert response.status_code == 200
    assert response.headers[header] == value


def test_all_six_overrides_together(client: TestClient, sandbox: Sandbox, stored: str) -> None:
    response = get(
        client, sandbox, stored, "HEAD", query={name: value for name, (_, value) in OVERRIDES.items()}
    )
    assert {header: response.headers[header] for header, _ in OVERRIDES.values()} == dict(OVERRIDES.values())


@pytest.mark.parametrize(
    "value",
    [
        'attachment; filename="a.txt"\r\nSet-Cookie: x=1',
        "inline\n",
        "inline\x00",
        'attachment; filename="\u20ac.txt"',
    ],
    ids=["crlf-injection", "lf", "nul", "beyond-latin-1"],
)
@pytest.mark.parametrize("parameter", ["response-content-disposition", "response-content-type"])
def test_override_no_header_can_carry_is_400(
    client: TestClient, sandbox: Sandbox, stored: str, value: str, parameter: str
) -> None:
    response = get(client, sandbox, stored, query={parameter: value})
    error = s3_error(response)
    assert (response.status_code, error["Code"], error["Message"], error["ArgumentName"]) == (
        400,
        "InvalidArgument",
        "Header value cannot be represented using ISO-8859-1.",
        parameter,
    )
    assert "set-cookie" not in response.headers


def test_missing_key_names_the_key(client: TestClient, sandbox: Sandbox) -> None:
    response = get(client, sandbox, "nothing/here.txt")
    error = s3_error(response)
    assert (response.status_code, error["Code"], error["Key"]) == (404, "NoSuchKey", "nothing/here.txt")


def test_gcs_link_serves_ranges_and_keeps_headers(client: TestClient, sandbox: Sandbox, stored: str) -> None:
    url = sandbox.storage.download_url(BASE, BUCKET, stored, expires_in=60).url
    response = client.get(url[len(BASE) :], headers={"Range": "bytes=1-3"})
    assert (response.status_code, response.content, response.headers["content-range"]) == (
        206,
        b"123",
        "bytes 1-3/10",
    )
    assert response.headers["x-amz-meta-owner"] == "Ward 7"
    assert response.headers["cache-control"] == "max-age=60"
    assert "x-amz-checksum-crc64nvme" not in response.headers


def test_gcs_link_unsatisfiable_range(client: TestClient, sandbox: Sandbox, stored: str) -> None:
    url = sandbox.storage.download_url(BASE, BUCKET, stored, expires_in=60).url
    response = client.get(url[len(BASE) :], headers={"Range": "bytes=20-"})
    assert (response.status_code, s3_error(response)["Code"]) == (416, "InvalidRange")


class TestPostFormKeepsHeaders:
    FIELDS = {
        "Cache-Control": "no-cache",
        "Content-Disposition": "attachment; filename=${filename}",
        "x-amz-meta-reporter": "ward-7",
        "Content-Type": "image/png",
    }

    def _post(self, client: TestClient, sandbox: Sandbox, parts: list[tuple[str, str | None, bytes]]):  # type: ignore[no-untyped-def]
        url, fields, _ = sandbox.storage.presign_post(
            BASE,
            BUCKET,
            "uploads/",
            expires_in=600,
            key_starts_with=True,
            fields=self.FIELDS,
            # ${filename} is substituted before conditions are checked, so an exact one cannot hold.
            conditions=[["starts-with", "$Content-Disposition", "attachment; filename="]],
        )
        form = [(name, None, value.encode()) for name, value in fields.items() if name != "key"]
        body, content_type = multipart([("key", None, b"uploads/${filename}"), *form, *parts])
        return client.post(url[len(BASE) :], content=body, headers={"Content-Type": content_type})

    def test_fields_are_stored_and_returned(self, client: TestClient, sandbox: Sandbox) -> None:
        response = self._post(client, sandbox, [("file", "C:\\photos\\scan.png", b"\x89PNG")])
        assert response.status_code == 204, response.text
        got = get(client, sandbox, "uploads/scan.png")
        assert got.content == b"\x89PNG"
        assert got.headers["cache-control"] == "no-cache"
        assert got.headers["content-disposition"] == "attachment; filename=scan.png"
        assert got.headers["x-amz-meta-reporter"] == "ward-7"
        assert got.headers["content-type"] == "image/png"

    def test_a_field_with_a_filename_attribute_is_still_a_field(
        self, client: TestClient, sandbox: Sandbox
    ) -> None:
        url, fields, _ = sandbox.storage.presign_post(BASE, BUCKET, "uploads/a.png", expires_in=600)
        parts = [
            (name, "ignored.txt" if name == "key" else None, value.encode()) for name, value in fields.items()
        ]
        body, content_type = multipart([*parts, ("file", "a.png", b"data")])
        response = client.post(url[len(BASE) :], content=body, headers={"Content-Type": content_type})
        assert response.status_code == 204, response.text
        assert sandbox.storage.objects.read(BUCKET, "uploads/a.png") == b"data"

    def test_a_file_part_without_a_filename_is_accepted(self, client: TestClient, sandbox: Sandbox) -> None:
        url, fields, _ = sandbox.storage.presign_post(BASE, BUCKET, "uploads/b.bin", expires_in=600)
        parts = [(name, None, value.encode()) for name, value in fields.items()]
        body, content_type = multipart([*parts, ("file", None, b"no filename")])
        response = client.post(url[len(BASE) :], content=body, headers={"Content-Type": content_type})
        assert response.status_code == 204, response.text
        assert sandbox.storage.objects.read(BUCKET, "uploads/b.bin") == b"no filename"


def test_non_ascii_form_values_come_back_rfc2047_encoded(client: TestClient, sandbox: Sandbox) -> None:
    # A form field may hold any text; S3 returns non-ASCII metadata as one RFC 2047 encoded word.
    fields_in = {"x-amz-meta-title": "Café report", "Content-Disposition": "attachment; filename=${filename}"}
    url, fields, _ = sandbox.storage.presign_post(
        BASE,
        BUCKET,
        "uploads/",
        expires_in=600,
        key_starts_with=True,
        fields=fields_in,
        conditions=[["starts-with", "$Content-Disposition", "attachment"]],
    )
    body, content_type = multipart(
        [
            ("key", None, b"uploads/${filename}"),
            *((name, None, value.encode()) for name, value in fields.items() if name != "key"),
            ("file", "résumé.pdf", b"%PDF"),
        ]
    )
    assert (
        client.post(url[len(BASE) :], content=body, headers={"Content-Type": content_type}).status_code == 204
    )
    response = get(client, sandbox, "uploads/résumé.pdf", "HEAD")
    assert response.status_code == 200
    assert response.headers["x-amz-meta-title"] == "=?UTF-8?B?Q2Fmw6kgcmVwb3J0?="
    decoded = str(make_header(decode_header(response.headers["content-disposition"])))
    assert decoded == "attachment; filename=résumé.pdf"
