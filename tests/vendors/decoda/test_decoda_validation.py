"""FastAPI's 422 bodies for Decoda's request bodies, item for item.

The expected bodies were recorded from FastAPI 0.165.0 / pydantic 2.14.4 serving endpoints declared
like Decoda's (``TENANT``/``API-KEY`` as ``Header(alias=...)``, ``patient_id: str = Form()``,
``attachments: list[UploadFile] = File([])``, a camelCase pydantic model for link-to-note).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from starlette.testclient import TestClient

DEMO = {"TENANT": "demo", "API-KEY": "decoda-dev-key"}
BOUNDARY = "decodaboundary"
MULTIPART = {"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"}


def missing(*loc: str | int, value: Any = None) -> dict[str, Any]:
    return {"type": "missing", "loc": list(loc), "msg": "Field required", "input": value}


def not_upload(*loc: str | int, value: str) -> dict[str, Any]:
    return {
        "type": "value_error",
        "loc": list(loc),
        "msg": "Value error, Expected UploadFile, received: <class 'str'>",
        "input": value,
        "ctx": {"error": {}},
    }


def multipart(parts: list[tuple[str, str | None, bytes]]) -> bytes:
    out = b""
    for name, filename, value in parts:
        disposition = f'form-data; name="{name}"' + (
            f'; filename="{filename}"' if filename is not None else ""
        )
        out += f"--{BOUNDARY}\r\nContent-Disposition: {disposition}\r\n\r\n".encode() + value + b"\r\n"
    return out + f"--{BOUNDARY}--\r\n".encode()


PATIENT = ("patient_id", None, b"P1001")
NAMELESS_PART = f"--{BOUNDARY}\r\nContent-Type: text/plain\r\n\r\nP\r\n--{BOUNDARY}--\r\n".encode()
FILE = ("attachments", "a.txt", b"a")


@pytest.mark.parametrize(
    ("headers", "body", "detail"),
    [
        (
            {},
            multipart([]),
            [missing("header", "TENANT"), missing("header", "API-KEY"), missing("body", "patient_id")],
        ),
        ({"TENANT": "demo"}, multipart([PATIENT]), [missing("header", "API-KEY")]),
        (
            {"API-KEY": "decoda-dev-key"},
            multipart([FILE]),
            [missing("header", "TENANT"), missing("body", "patient_id")],
        ),
        (DEMO, multipart([FILE]), [missing("body", "patient_id")]),
        (DEMO, multipart([("patient_id", None, b""), FILE]), [missing("body", "patient_id")]),
        (
            DEMO,
            multipart([PATIENT, ("attachments", None, b"x")]),
            [not_upload("body", "attachments", 0, value="x")],
        ),
        (
            DEMO,
            multipart([FILE, ("attachments", None, b""), ("attachments", "b.txt", b"b"), PATIENT]),
            [not_upload("body", "attachments", 1, value="")],
        ),
        (
            DEMO,
            multipart([("attachments", None, b"x")]),
            [missing("body", "patient_id"), not_upload("body", "attachments", 0, value="x")],
        ),
        (
            DEMO,
            multipart([PATIENT, ("names", "n.txt", b"abc")]),
            [
                {
                    "type": "string_type",
                    "loc": ["body", "names"],
                    "msg": "Input should be a valid string",
                    "input": {
                        "filename": "n.txt",
                        "size": 3,
                        "headers": {"content-disposition": 'form-data; name="names"; filename="n.txt"'},
                    },
                }
            ],
        ),
    ],
    ids=[
        "nothing",
        "no-api-key",
        "no-tenant-no-patient",
        "no-patient",
        "empty-patient",
        "text-as-file",
        "text-between-files",
        "patient-missing-and-text-file",
        "file-as-text",
    ],
)
def test_bulk_validation_matches_fastapi(
    client: TestClient,
    validate_response: Callable[..., Any],
    headers: dict[str, str],
    body: bytes,
    detail: list[dict[str, Any]],
) -> None:
    response = client.post("/decoda/attachments/bulk", headers={**headers, **MULTIPART}, content=body)
    assert response.status_code == 422
    assert validate_response("decoda", "uploadAttachmentsBulk", response) == {"detail": detail}


@pytest.mark.parametrize(
    ("kwargs", "status", "body"),
    [
        ({"json": {"patient_id": "P1001"}}, 422, {"detail": [missing("body", "patient_id")]}),
        ({"data": {"patient_id": "P1001"}}, 200, {"attachments": []}),
        ({"content": b"patient_id=P1001"}, 422, {"detail": [missing("body", "patient_id")]}),
        (
            {"content": b"abc", "headers": {"Content-Type": "multipart/form-data"}},
            400,
            {"detail": "Missing boundary in multipart."},
        ),
        ({"content": b"garbage", "headers": MULTIPART}, 400, {"detail": "Invalid multipart data."}),
        (
            {
                "content": NAMELESS_PART,
                "headers": MULTIPART,
            },
            400,
            {"detail": 'The Content-Disposition header field "name" must be provided.'},
        ),
    ],
    ids=["json-body", "urlencoded-body", "no-content-type", "no-boundary", "garbage", "part-without-name"],
)
def test_bulk_bodies_that_are_not_multipart(
    client: TestClient, validate_response: Callable[..., Any], kwargs: dict[str, Any], status: int, body: Any
) -> None:
    headers = {**DEMO, **kwargs.pop("headers", {})}
    response = client.post("/decoda/attachments/bulk", headers=headers, **kwargs)
    assert (response.status_code, validate_response("decoda", "uploadAttachmentsBulk", response)) == (
        status,
        body,
    )


@pytest.mark.parametrize(
    ("parts", "detail"),
    [
        ([("x", "a.txt", b"a")], [missing("body", "attachment"), missing("body", "patient_id")]),
        ([("attachment", None, b"x"), PATIENT], [not_upload("body", "attachment", value="x")]),
        ([("attachment", None, b""), PATIENT], [missing("body", "attachment")]),
    ],
    ids=["nothing-declared", "text-as-file", "empty-text-as-file"],
)
def test_single_upload_validation_matches_fastapi(
    client: TestClient,
    validate_response: Callable[..., Any],
    parts: list[tuple[str, str | None, bytes]],
    detail: list[dict[str, Any]],
) -> None:
    response = client.post("/decoda/attachments", headers={**DEMO, **MULTIPART}, content=multipart(parts))
    assert validate_response("decoda", "uploadAttachment", response) == {"detail": detail}


def _json(body: bytes, content_type: str | None = "application/json") -> dict[str, Any]:
    return {"content": body, "headers": {"Content-Type": content_type} if content_type else {}}


@pytest.mark.parametrize(
    ("request_kwargs", "detail"),
    [
        (_json(b"", None), [missing("body")]),
        (_json(b"{}"), [missing("body", "noteId", value={}), missing("body", "attachmentIds", value={})]),
        (
            _json(b"{bad"),
            [
                {
                    "type": "json_invalid",
                    "loc": ["body", 1],
                    "msg": "JSON decode error",
                    "input": {},
                    "ctx": {"error": "Expecting property name enclosed in double quotes"},
                }
            ],
        ),
        (
            _json(b'{"noteId": 5, "attachmentIds": "x"}'),
            [
                {
                    "type": "string_type",
                    "loc": ["body", "noteId"],
                    "msg": "Input should be a valid string",
                    "input": 5,
                },
                {
                    "type": "list_type",
                    "loc": ["body", "attachmentIds"],
                    "msg": "Input should be a valid list",
                    "input": "x",
                },
            ],
        ),
        (
            _json(b'{"noteId": null, "attachmentIds": ["a", 3, null]}'),
            [
                {
                    "type": "string_type",
                    "loc": ["body", "noteId"],
                    "msg": "Input should be a valid string",
                    "input": None,
                },
                {
                    "type": "string_type",
                    "loc": ["body", "attachmentIds", 1],
                    "msg": "Input should be a valid string",
                    "input": 3,
                },
                {
                    "type": "string_type",
                    "loc": ["body", "attachmentIds", 2],
                    "msg": "Input should be a valid string",
                    "input": None,
                },
            ],
        ),
        (
            _json(b"[1]"),
            [
                {
                    "type": "model_attributes_type",
                    "loc": ["body"],
                    "msg": "Input should be a valid dictionary or object to extract fields from",
                    "input": [1],
                }
            ],
        ),
        (_json(b"null"), [missing("body")]),
        (
            _json(b'{"noteId":"N","attachmentIds":[]}', "text/plain"),
            [
                {
                    "type": "model_attributes_type",
                    "loc": ["body"],
                    "msg": "Input should be a valid dictionary or object to extract fields from",
                    "input": '{"noteId":"N","attachmentIds":[]}',
                }
            ],
        ),
        (
            _json(b"noteId=N", "application/x-www-form-urlencoded"),
            [
                {
                    "type": "model_attributes_type",
                    "loc": ["body"],
                    "msg": "Input should be a valid dictionary or object to extract fields from",
                    "input": "noteId=N",
                }
            ],
        ),
        (
            _json(b'{"note_id": "N2001", "attachment_ids": []}'),
            [
                missing("body", "noteId", value={"note_id": "N2001", "attachment_ids": []}),
                missing("body", "attachmentIds", value={"note_id": "N2001", "attachment_ids": []}),
            ],
        ),
    ],
    ids=[
        "no-body",
        "empty-object",
        "broken-json",
        "wrong-types",
        "wrong-items",
        "array",
        "null",
        "text-plain",
        "form-encoded",
        "snake-case-keys",
    ],
)
def test_link_body_validation_matches_fastapi(
    client: TestClient,
    validate_response: Callable[..., Any],
    request_kwargs: dict[str, Any],
    detail: list[dict[str, Any]],
) -> None:
    headers = {**DEMO, **request_kwargs["headers"]}
    response = client.post(
        "/decoda/attachments/link-to-note", headers=headers, content=request_kwargs["content"]
    )
    assert response.status_code == 422
    assert validate_response("decoda", "linkAttachmentsToNote", response) == {"detail": detail}


def test_link_accepts_vendor_json_content_types_and_extra_keys(client: TestClient) -> None:
    body = b'{"noteId": "N2001", "attachmentIds": [], "comment": "ignored"}'
    for content_type in ("application/json; charset=utf-8", "application/vnd.decoda+json"):
        response = client.post(
            "/decoda/attachments/link-to-note", content=body, headers={**DEMO, "Content-Type": content_type}
        )
        assert (response.status_code, response.json()) == (200, [])
