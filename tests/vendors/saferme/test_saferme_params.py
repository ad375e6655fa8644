"""Create-attachment parameters as a Rails app takes them: JSON, form-encoded or multipart text parts."""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

import pytest
from PIL import Image
from starlette.testclient import TestClient

from mock_server.vendors.saferme.errors import BadRequest
from mock_server.vendors.saferme.params import nest

ATTACHMENTS = "/saferme/api/v4/file_attachments"
HEADERS = {
    "Authorization": "Token token=saferme-dev-token",
    "X-AppId": "com.thundermaps.saferme",
    "X-TeamId": "1234",
}
FORM = "application/x-www-form-urlencoded"
Validate = Callable[..., Any]


@pytest.fixture
def uploaded_key(saferme: Any) -> str:
    buffer = io.BytesIO()
    Image.new("RGB", (40, 30)).save(buffer, "PNG")
    return saferme.uploaded("image/png", "form.png", buffer.getvalue(), HEADERS)


def test_form_encoded_body_creates_the_attachment(
    client: TestClient, validate_response: Validate, uploaded_key: str
) -> None:
    response = client.post(ATTACHMENTS, data={"file_attachment[key]": uploaded_key}, headers=HEADERS)
    assert response.status_code == 202
    body = validate_response("saferme", "createFileAttachment", response)
    assert body["filename"] == "form.png"
    again = client.post(ATTACHMENTS, json={"file_attachment": {"key": uploaded_key}}, headers=HEADERS)
    assert again.json()["id"] == body["id"]


def test_multipart_text_parts_create_the_attachment(
    client: TestClient, validate_response: Validate, uploaded_key: str
) -> None:
    response = client.post(ATTACHMENTS, files={"file_attachment[key]": (None, uploaded_key)}, headers=HEADERS)
    assert response.status_code == 202
    assert validate_response("saferme", "createFileAttachment", response)["id"] == 21


@pytest.mark.parametrize(
    ("content", "content_type", "status", "attribute", "code"),
    [
        (b"", FORM, 422, "file_attachment", "blank"),
        (b"file_attachment[other]=x", FORM, 422, "key", "blank"),
        (b"file_attachment=abc", FORM, 422, "file_attachment", "invalid"),
        (b"file_attachment[key]=", FORM, 422, "key", "blank"),
        (b"file_attachment[key]=async_uploads/nope", FORM, 422, "key", "invalid"),
        (b"file_attachment=1&file_attachment[key]=x", FORM, 400, "base", "bad_request"),
        (b"file_attachment[key]=%ff", FORM, 400, "base", "bad_request"),
        (b"file_attachment[key]=\xff", FORM, 400, "base", "bad_request"),
        (b"--x\r\nbroken", "multipart/form-data; boundary=x", 422, "file_attachment", "blank"),
        (b"--x\r\n", "multipart/form-data", 400, "base", "bad_request"),
        (b"file_attachment[key]=" + b"a" * 70_000, FORM, 413, "base", "payload_too_large"),
    ],
    ids=[
        "empty", "no-key", "not-a-hash", "blank-key", "unknown-key", "type-conflict", "bad-percent-utf8",
        "raw-non-utf8", "truncated-multipart", "no-boundary", "too-large",
    ],
)  # fmt: skip
def test_form_refusals(
    client: TestClient,
    validate_response: Validate,
    content: bytes,
    content_type: str,
    status: int,
    attribute: str,
    code: str,
) -> None:
    response = client.post(ATTACHMENTS, content=content, headers={**HEADERS, "Content-Type": content_type})
    assert response.status_code == status, response.text
    body = validate_response("saferme", "createFileAttachment", response)
    assert body["error_codes"][attribute][0]["error"] == code


def test_a_file_part_is_not_a_key(client: TestClient, validate_response: Validate) -> None:
    response = client.post(
        ATTACHMENTS, files={"file_attachment[key]": ("k.txt", b"x", "text/plain")}, headers=HEADERS
    )
    assert response.status_code == 422
    assert (
        validate_response("saferme", "createFileAttachment", response)["error_codes"]["key"][0]["error"]
        == "invalid"
    )


@pytest.mark.parametrize(
    ("pairs", "expected"),
    [
        ([("file_attachment[key]", "k")], {"file_attachment": {"key": "k"}}),
        ([("a[b][c]", "1"), ("a[b][d]", "2")], {"a": {"b": {"c": "1", "d": "2"}}}),
        ([("ids[]", "1"), ("ids[]", "2")], {"ids": ["1", "2"]}),
        ([("a", "1"), ("a", "2")], {"a": "2"}),
        ([("odd]name", "1")], {"odd]name": "1"}),
    ],
    ids=["nested", "deep", "list", "last-wins", "unparsed-name"],
)
def test_nest(pairs: list[tuple[str, str]], expected: dict[str, Any]) -> None:
    assert nest(pairs) == expected


@pytest.mark.parametrize(
    "pairs",
    [[("a", "1"), ("a[b]", "2")], [("a[b]", "1"), ("a", "2")], [("a[][b]", "1")], [("a[]", "1"), ("a", "2")]],
    ids=["value-then-hash", "hash-then-value", "list-of-hashes", "list-then-value"],
)
def test_nest_conflicts(pairs: list[tuple[str, str]]) -> None:
    with pytest.raises(BadRequest):
        nest(pairs)
