"""Decoda uploads in-process: bulk and single, names/external_ids, lookups, caps, nothing half-stored."""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

import pytest
from PIL import Image
from starlette.testclient import TestClient

from mock_server.core.clock import Clock
from mock_server.core.sandbox import Sandbox
from mock_server.vendors.decoda.models import BUCKET

DEMO = {"TENANT": "demo", "API-KEY": "decoda-dev-key"}
OTHER = {"TENANT": "other", "API-KEY": "decoda-other-key"}
BOUNDARY = "decodaboundary"


def png(width: int = 640, height: int = 480) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (200, 30, 90)).save(out, format="PNG")
    return out.getvalue()


def multipart(parts: list[tuple[str, str | None, bytes, str | None]]) -> bytes:
    """Raw multipart body: (name, filename or None for text, value, content type)."""
    out = b""
    for name, filename, value, content_type in parts:
        disposition = f'form-data; name="{name}"' + (
            f'; filename="{filename}"' if filename is not None else ""
        )
        out += f"--{BOUNDARY}\r\nContent-Disposition: {disposition}\r\n".encode()
        if content_type:
            out += f"Content-Type: {content_type}\r\n".encode()
        out += b"\r\n" + value + b"\r\n"
    return out + f"--{BOUNDARY}--\r\n".encode()


def stored_state(sandbox: Sandbox) -> tuple[int, int]:
    return len(sandbox.storage.objects.list(BUCKET)), sum(
        len(sandbox.store.list("decoda", tenant, "attachment")) for tenant in ("demo", "other")
    )


def test_bulk_upload_answers_every_file_in_upload_order(
    decoda, client: TestClient, clock: Clock, sandbox: Sandbox
) -> None:
    clock.freeze("2024-03-05T14:00:00Z")
    files = [
        ("before.png", png(), "image/png"),
        ("consent.pdf", b"%PDF-1.7 consent", "application/pdf"),
        ("notes.txt", b"plain notes", "text/plain; charset=utf-8"),
    ]
    response = decoda.bulk(
        files, note_id="N2001", names='["Before", "Consent form"]', external_ids="EXT-1,,EXT-3"
    )
    assert response.status_code == 200
    items = response.json()["attachments"]
    assert [item["originalFilename"] for item in items] == ["before.png", "consent.pdf", "notes.txt"]
    assert [item["name"] for item in items] == ["Before", "Consent form", "notes.txt"]
    assert [item["externalId"] for item in items] == ["EXT-1", None, "EXT-3"]
    assert len({item["id"] for item in items}) == 3
    first = items[0]
    assert first["gcsPath"] == f"gs://decoda-attachments/demo/P1001/{first['id']}/before.png"
    assert (first["createdDate"], first["noteId"]) == ("2024-03-05T14:00:00Z", "N2001")
    assert first["note"] == {"id": "N2001", "createdDate": "2024-03-05T14:00:00Z"}
    assert first["provider"] == {
        "id": "PR3001",
        "firstName": "Maya",
        "lastName": "Chen",
        "email": "maya.chen@demo-clinic.example",
        "createdDate": "2023-02-01T09:00:00Z",
    }
    assert (first["annotations"], first["tags"]) == ([], [])
    patient = client.get("/decoda/user/patient/P1001", headers=DEMO).json()
    assert all(item["patient"] == {key: patient[key] for key in item["patient"]} for item in items)
    assert [item["thumbnailSignedUrl"] is not None for item in items] == [True, False, False]
    for item, (_, content, content_type) in zip(items, files, strict=True):
        download = client.get(item["signedUrl"])
        assert (download.status_code, download.content) == (200, content)
        assert download.headers["content-type"] == content_type
    assert stored_state(sandbox) == (4, 3)  # three files and one thumbnail


def test_thumbnail_is_a_real_smaller_image(decoda, client: TestClient) -> None:
    jpeg = io.BytesIO()
    Image.new("RGB", (1200, 900), (10, 120, 200)).save(jpeg, format="JPEG")
    items = decoda.bulk(
        [("wide.png", png(1000, 400), "image/png"), ("photo.jpg", jpeg.getvalue(), "image/jpeg")]
    ).json()["attachments"]
    for item, (size, fmt) in zip(items, [((256, 102), "PNG"), ((256, 192), "JPEG")], strict=True):
        download = client.get(item["thumbnailSignedUrl"])
        assert download.headers["content-type"] == f"image/{fmt.lower()}"
        with Image.open(io.BytesIO(download.content)) as thumbnail:
            assert (thumbnail.size, thumbnail.format) == (size, fmt)


@pytest.mark.parametrize(
    ("content", "content_type"),
    [
        (b"not really a png", "image/png"),
        (png(), "application/pdf"),
    ],
    ids=["undecodable-image", "image-bytes-declared-as-pdf"],
)
def test_no_thumbnail_without_a_decodable_image(decoda, content: bytes, content_type: str) -> None:
    item = decoda.bulk([("file.bin", content, content_type)]).json()["attachments"][0]
    assert item["thumbnailSignedUrl"] is None


@pytest.mark.parametrize(
    ("names", "external_ids", "expected_names", "expected_ids"),
    [
        ('["A", "B"]', '["x-1", "x-2"]', ["A", "B"], ["x-1", "x-2"]),
        ("A, B", " x-1 ,x-2 ", ["A", "B"], ["x-1", "x-2"]),
        ("A", None, ["A", "b.pdf"], [None, None]),
        ('[null, "B"]', "[101, 102]", ["a.png", "B"], ["101", "102"]),
        (",B", ",", ["a.png", "B"], [None, None]),
        ('["Before, left side", "After"]', None, ["Before, left side", "After"], [None, None]),
        ("", "", ["a.png", "b.pdf"], [None, None]),
    ],
    ids=[
        "json-arrays",
        "comma-separated-trimmed",
        "fewer-than-files",
        "json-null-and-integers",
        "empty-items-default",
        "json-keeps-commas",
        "empty-values",
    ],
)
def test_names_and_external_ids_align_by_position(
    decoda,
    names: str | None,
    external_ids: str | None,
    expected_names: list[str],
    expected_ids: list[str | None],
) -> None:
    fields = {
        key: value for key, value in (("names", names), ("external_ids", external_ids)) if value is not None
    }
    files = [("a.png", b"a", "application/octet-stream"), ("b.pdf", b"b", "application/pdf")]
    items = decoda.bulk(files, **fields).json()["attachments"]
    assert [item["name"] for item in items] == expected_names
    assert [item["externalId"] for item in items] == expected_ids


@pytest.mark.parametrize(
    ("fields", "detail"),
    [
        (
            {"names": "A,B,C"},
            "names has 3 values but 2 attachment(s) were uploaded; values are matched to "
            "attachments by position",
        ),
        (
            {"external_ids": '["1","2","3"]'},
            "external_ids has 3 values but 2 attachment(s) were uploaded; values "
            "are matched to attachments by position",
        ),
        ({"names": "[oops"}, "names must be a JSON array of strings or a comma-separated list of values"),
        (
            {"names": '[["nested"]]'},
            "names must be a JSON array of strings or a comma-separated list of values",
        ),
        (
            {"external_ids": "[true]"},
            "external_ids must be a JSON array of strings or a comma-separated list of values",
        ),
    ],
    ids=["more-names-than-files", "more-external-ids-than-files", "broken-json", "nested-array", "booleans"],
)
def test_names_that_do_not_fit_are_422(decoda, sandbox: Sandbox, fields: dict[str, str], detail: str) -> None:
    response = decoda.bulk([("a.txt", b"a", "text/plain"), ("b.txt", b"b", "text/plain")], **fields)
    ((field, value),) = fields.items()
    item = {
        "type": "value_error",
        "loc": ["body", field],
        "msg": f"Value error, {detail}",
        "input": value,
        "ctx": {"error": {}},
    }
    assert (response.status_code, response.json()) == (422, {"detail": [item]})
    assert stored_state(sandbox) == (0, 0)


@pytest.mark.parametrize(
    ("headers", "fields", "status", "detail"),
    [
        (DEMO, {"patient_id": "P9999"}, 404, "Patient not found"),
        (DEMO, {"note_id": "N9999"}, 404, "Note not found"),
        (DEMO, {"note_id": "N2002"}, 400, "Note N2002 does not belong to patient P1001"),
        (DEMO, {"patient_id": "P5001"}, 404, "Patient not found"),
        (OTHER, {}, 404, "Patient not found"),
        (OTHER, {"patient_id": "P5001", "note_id": "N2001"}, 404, "Note not found"),
    ],
    ids=[
        "unknown-patient",
        "unknown-note",
        "note-of-another-patient",
        "other-tenants-patient",
        "patient-of-demo-seen-from-other",
        "note-of-demo-seen-from-other",
    ],
)
def test_patient_and_note_must_exist_in_the_tenant(
    decoda,
    sandbox: Sandbox,
    headers: dict[str, str],
    fields: dict[str, str],
    status: int,
    detail: str,
) -> None:
    response = decoda.bulk([("a.txt", b"a", "text/plain")], headers=headers, **fields)
    assert (response.status_code, response.json()) == (status, {"detail": detail})
    assert stored_state(sandbox) == (0, 0)


def test_bulk_without_files_answers_an_empty_list(decoda) -> None:
    response = decoda.raw("/attachments/bulk", multipart([("patient_id", None, b"P1001", None)]))
    assert (response.status_code, response.json()) == (200, {"attachments": []})


def test_single_upload(decoda, client: TestClient, validate_response: Callable[..., Any]) -> None:
    response = client.post(
        "/decoda/attachments",
        headers=DEMO,
        data={"patient_id": "P1002", "note_id": "N2002", "name": "Intake form"},
        files={"attachment": ("intake.pdf", b"%PDF intake", "application/pdf")},
    )
    item = validate_response("decoda", "uploadAttachment", response)
    assert response.status_code == 200
    assert (item["name"], item["originalFilename"], item["noteId"], item["patient"]["id"]) == (
        "Intake form",
        "intake.pdf",
        "N2002",
        "P1002",
    )
    assert (item["externalId"], item["thumbnailSignedUrl"]) == (None, None)
    assert client.get(item["signedUrl"]).content == b"%PDF intake"


def test_single_upload_keeps_the_last_attachment_part(decoda, client: TestClient, sandbox: Sandbox) -> None:
    body = multipart(
        [
            ("patient_id", None, b"P1001", None),
            ("attachment", "first.txt", b"1", "text/plain"),
            ("attachment", "second.txt", b"2", "text/plain"),
        ]
    )
    item = decoda.raw("/attachments", body, operation="uploadAttachment").json()
    assert item["originalFilename"] == "second.txt"
    assert stored_state(sandbox) == (1, 1)


@pytest.mark.parametrize(
    ("filename", "original", "key_name"),
    [
        ("../../etc/passwd", "passwd", "passwd"),
        ("C:\\Users\\jo\\scan.pdf", "scan.pdf", "scan.pdf"),
        ("bad\x01name.txt", "badname.txt", "badname.txt"),
        ("..", "", "file"),
        ("", "", "file"),
        ("résumé final.txt", "résumé final.txt", "résumé final.txt"),
    ],
    ids=["unix-traversal", "windows-path", "control-character", "dot-dot", "empty", "unicode-and-space"],
)
def test_filenames_are_sanitised(
    decoda, client: TestClient, filename: str, original: str, key_name: str
) -> None:
    body = multipart(
        [("patient_id", None, b"P1001", None), ("attachments", filename, b"content", "text/plain")]
    )
    item = decoda.raw("/attachments/bulk", body).json()["attachments"][0]
    assert (item["originalFilename"], item["name"]) == (original, original)
    assert item["gcsPath"] == f"gs://decoda-attachments/demo/P1001/{item['id']}/{key_name}"
    assert client.get(item["signedUrl"]).content == b"content"


@pytest.mark.parametrize(
    ("declared", "filename", "stored"),
    [
        (None, "scan.pdf", "application/pdf"),
        ("application/octet-stream", "photo.png", "image/png"),
        ("application/octet-stream", "blob", "application/octet-stream"),
        ("text/csv", "data.bin", "text/csv"),
    ],
    ids=["missing-guessed", "octet-stream-guessed", "unguessable", "declared-wins"],
)
def test_content_type_is_kept_or_guessed(
    decoda, client: TestClient, declared: str | None, filename: str, stored: str
) -> None:
    body = multipart([("patient_id", None, b"P1001", None), ("attachments", filename, b"x", declared)])
    item = decoda.raw("/attachments/bulk", body).json()["attachments"][0]
    assert client.get(item["signedUrl"]).headers["content-type"].split(";")[0] == stored
