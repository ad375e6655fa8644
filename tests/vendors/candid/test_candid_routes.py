"""Candid in-process: list, create and delete encounter attachments, and upload validation.

Every response body is checked against the vendor's openapi.yaml.
"""

from __future__ import annotations

from typing import Any

import pytest
from starlette.testclient import TestClient

from mock_server.core.clock import LATEST
from mock_server.core.sandbox import Sandbox
from mock_server.vendors.candid import models

V1 = "/candid/api/encounter-attachments/v1"
ENCOUNTER = "d5e9c84f-c2b2-4bf4-b4b0-7ffd7a9ffc32"
OTHER_ENCOUNTER = "9c8b7a6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d"
SEEDED = "4ee11757-444d-400b-8c78-d6838c8fabcd"
DEV = {"Authorization": "Bearer candid-dev-token"}
PDF = ("note.pdf", b"%PDF-1.4\n% sandbox\n", "application/pdf")
CREATE_PATHS = {
    "createEncounterAttachment": f"{V1}/{ENCOUNTER}",
    "createEncounterAttachmentV2": f"{V1}/{ENCOUNTER}/v2",
    "createAttachmentFromChargeCaptureExternalId": f"{V1}/create-from-charge-capture-external-id",
}


def error(response: Any, status: int, name: str) -> Any:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["errorName"] == name
    return body["content"]


def stored(sandbox: Sandbox) -> list[str]:
    return [info.key for info in sandbox.storage.objects.list(models.BUCKET)]


class TestList:
    def test_seeded_attachment_matches_the_sdk_shape(self, candid, client: TestClient) -> None:
        [item] = candid.list().json()
        assert item["attachment_id"] == SEEDED and item["description"] == "Visit summary"
        assert item["created_at"] == "2024-01-15T09:30:00Z"
        assert item["created_by"]["user_metadata"]["type"] == "machine_user_metadata"
        assert client.get(item["authed_url"]).content == b"Visit summary: follow-up in 2 weeks.\n"

    def test_a_listing_signs_its_urls_at_the_clock_s_latest_instant(self, candid, clock: Any) -> None:
        clock.set(LATEST)
        answer = candid.list()
        assert answer.status_code == 200 and answer.json()[0]["authed_url"]

    def test_authed_url_expires_with_the_s3_error(self, candid, client: TestClient, clock: Any) -> None:
        clock.freeze()
        url = candid.list().json()[0]["authed_url"]
        assert "X-Amz-Expires=3600" in url
        clock.advance(3601)
        response = client.get(url)
        assert response.status_code == 403 and b"<Code>AccessDenied</Code>" in response.content
        assert b"Request has expired" in response.content

    @pytest.mark.parametrize(
        ("encounter", "headers", "status", "name"),
        [
            ("00000000-0000-4000-8000-0000000000aa", DEV, 404, "EntityNotFoundError"),
            (OTHER_ENCOUNTER, DEV, 403, "UnauthorizedError"),
            (ENCOUNTER, {"Authorization": "Bearer candid-other-token"}, 403, "UnauthorizedError"),
            ("not-a-uuid", DEV, 422, "HttpRequestValidationError"),
        ],
        ids=["unknown-encounter", "other-organizations-encounter", "other-organizations-token", "not-a-uuid"],
    )
    def test_refusals(self, candid, encounter: str, headers: dict[str, str], status: int, name: str) -> None:
        content = error(candid.list(encounter, headers=headers), status, name)
        if status == 404:
            assert content == {"id": encounter}


class TestCreate:
    @pytest.mark.parametrize("operation", list(CREATE_PATHS), ids=list(CREATE_PATHS))
    def test_create_answers_a_bare_uuid_and_stores_the_bytes(
        self, candid, sandbox: Sandbox, operation: str
    ) -> None:
        response = candid.upload(operation)
        assert response.status_code == 200 and models.is_uuid(response.json())
        [key] = [k for k in stored(sandbox) if response.json() in k]
        assert key.startswith("83a2a782-35f6-45a7-b5c3-53ca2ebe8887/")
        assert sandbox.storage.objects.read(models.BUCKET, key) == PDF[1]

    def test_description_is_kept_by_v2_and_ignored_by_v1(self, candid) -> None:
        data = {"attachment_type": "EOB", "description": "remit from payer"}
        v2 = candid.upload("createEncounterAttachmentV2", data=data).json()
        v1 = candid.upload("createEncounterAttachment", data=data).json()
        described = {item["attachment_id"]: item["description"] for item in candid.list().json()}
        assert described[v2] == "remit from payer" and described[v1] == ""

    def test_a_listing_longer_than_a_chunk_keeps_every_item_in_order(
        self, candid, cc, client: TestClient, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """Listings are built and written a chunk at a time: chunk boundaries lose, repeat or reorder
        nothing, on encounters and on charge captures, and every URL downloads its own file."""
        monkeypatch.setattr(models, "LISTING_CHUNK", 2)
        made = [
            candid.upload(
                files={"attachment_file": (f"n{n}.pdf", b"%PDF-" + bytes([48 + n]), "application/pdf")}
            ).json()
            for n in range(5)
        ]
        listed = candid.list().json()
        assert [item["attachment_id"] for item in listed] == [SEEDED, *made]
        for n, item in enumerate(listed[1:]):
            assert client.get(
                item["authed_url"].removeprefix("http://127.0.0.1:8080")
            ).content == b"%PDF-" + bytes([48 + n])
        before = cc.listed()  # the fixtures' own
        captured = [cc.upload() for _ in range(3)]
        assert all(answer.status_code == 200 for answer in captured)
        assert cc.listed() == [*before, *(answer.json() for answer in captured)]

    def test_file_name_and_content_type_are_cleaned(self, candid, sandbox: Sandbox) -> None:
        files = {"attachment_file": ("../../etc/passwd.txt", b"hello", "Text/Plain; charset=utf-8")}
        created = candid.upload(files=files).json()
        item = next(i for i in candid.list().json() if i["attachment_id"] == created)
        assert item["file_name"] == "passwd.txt" and item["content_type"] == "text/plain"
        assert [k for k in stored(sandbox) if created in k] == [
            f"83a2a782-35f6-45a7-b5c3-53ca2ebe8887/{created}/passwd.txt"
        ]

    @pytest.mark.parametrize(
        ("raw", "clean", "key_part"),
        [
            ("../../etc/passwd", "passwd", "passwd"),
            ("C:\\Users\\me\\scan 1.pdf", "scan 1.pdf", "scan_1.pdf"),
            ("a\x00b\x1fc.txt", "abc.txt", "abc.txt"),
            ("..", "upload", "upload"),
            ("", "upload", "upload"),
            ("résumé.pdf", "résumé.pdf", "r_sum_.pdf"),
        ],
        ids=["dot-dot-path", "windows-path", "control-characters", "dot-dot-only", "empty", "unicode"],
    )
    def test_file_names_are_sanitized(self, raw: str, clean: str, key_part: str) -> None:
        assert models.sanitize_file_name(raw) == clean
        assert models.object_key("org", "id", clean) == f"org/id/{key_part}"

    @pytest.mark.parametrize("attachment_type", models.ATTACHMENT_TYPES)
    def test_every_attachment_type_is_accepted(self, candid, attachment_type: str) -> None:
        assert candid.upload(data={"attachment_type": attachment_type}).status_code == 200

    @pytest.mark.parametrize("content_type", sorted(models.ALLOWED_CONTENT_TYPES))
    def test_every_allowed_mime_type_is_accepted(self, candid, content_type: str) -> None:
        files = {"attachment_file": ("file", b"x", content_type)}
        assert candid.upload(files=files).status_code == 200


BOUNDARY = "candid-test-boundary"
UPLOAD_REFUSALS = [
    ("missing-type", {"data": {}}, 422, "HttpRequestValidationError", "attachment_type"),
    (
        "unknown-type",
        {"data": {"attachment_type": "INVOICE"}},
        422,
        "HttpRequestValidationError",
        "attachment_type",
    ),
    ("missing-file", {"files": {"other": (None, "x")}}, 422, "HttpRequestValidationError", "attachment_file"),
    (
        "missing-both",
        {"data": {"description": "x"}, "files": {"other": (None, "x")}},
        422,
        "HttpRequestValidationsError",
        None,
    ),
    (
        "mime-not-allowed",
        {"files": {"attachment_file": ("a.exe", b"MZ", "application/x-msdownload")}},
        422,
        "UnprocessableEntityError",
        None,
    ),
    (
        "octet-stream",
        {"files": {"attachment_file": ("a.pdf", b"%PDF", "application/octet-stream")}},
        422,
        "UnprocessableEntityError",
        None,
    ),
    (
        "no-part-content-type",
        {
            "data": None,
            "files": None,
            "content": (
                f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="attachment_type"\r\n\r\nEOB\r\n'
                f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="attachment_file"; '
                'filename="a.pdf"\r\n\r\n'
                f"%PDF\r\n--{BOUNDARY}--\r\n"
            ).encode(),
            "headers": {**DEV, "content-type": f"multipart/form-data; boundary={BOUNDARY}"},
        },
        422,
        "UnprocessableEntityError",
        None,
    ),
    ("file-in-wrong-field", {"files": {"file": PDF}}, 422, "HttpRequestValidationError", "attachment_file"),
    (
        "two-files",
        {"files": [("attachment_file", PDF), ("attachment_file", PDF)]},
        400,
        "BadRequestError",
        None,
    ),
    (
        "not-multipart",
        {"data": None, "files": None, "json": {"attachment_type": "EOB"}},
        415,
        "InvalidContentTypeError",
        None,
    ),
    (
        "broken-multipart",
        {
            "data": None,
            "files": None,
            "content": b"--nope\r\nbroken",
            "headers": {**DEV, "content-type": f"multipart/form-data; boundary={BOUNDARY}"},
        },
        400,
        "BadRequestError",
        None,
    ),
    ("encounter-not-uuid", {"path": f"{V1}/12345/v2"}, 422, "HttpRequestValidationError", "encounter_id"),
    (
        "unknown-encounter",
        {"path": f"{V1}/00000000-0000-4000-8000-0000000000aa/v2"},
        404,
        "EntityNotFoundError",
        None,
    ),
    ("other-organizations-encounter", {"path": f"{V1}/{OTHER_ENCOUNTER}/v2"}, 403, "UnauthorizedError", None),
    ("no-token", {"headers": {}}, 401, "UnauthorizedError", None),
]


@pytest.mark.parametrize(
    ("case", "kwargs", "status", "name", "field"), UPLOAD_REFUSALS, ids=[case[0] for case in UPLOAD_REFUSALS]
)
def test_upload_refusals_store_nothing(
    candid,
    sandbox: Sandbox,
    case: str,
    kwargs: dict[str, Any],
    status: int,
    name: str,
    field: str | None,
) -> None:
    before = stored(sandbox)
    content = error(candid.upload(**kwargs), status, name)
    if field is not None:
        assert content["fieldName"] == field
    if name == "HttpRequestValidationsError":
        assert [item["fieldName"] for item in content] == ["attachment_type", "attachment_file"]
    assert stored(sandbox) == before
    assert len(sandbox.store.list(models.VENDOR, "83a2a782-35f6-45a7-b5c3-53ca2ebe8887", "attachment")) == 3


def test_charge_capture_create_requires_the_external_id(candid) -> None:
    response = candid.upload("createAttachmentFromChargeCaptureExternalId", data={"attachment_type": "EOB"})
    assert error(response, 422, "HttpRequestValidationError")["fieldName"] == "charge_capture_external_id"


class TestSizeCap:
    def test_the_cap_is_exact(self, candid, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setattr(models, "MAX_ATTACHMENT_BYTES", 1024)
        assert (
            candid.upload(files={"attachment_file": ("a.txt", b"x" * 1024, "text/plain")}).status_code == 200
        )
        response = candid.upload(files={"attachment_file": ("a.txt", b"x" * 1025, "text/plain")})
        assert "25MB" in error(response, 422, "UnprocessableEntityError")["message"]

    def test_a_declared_length_over_the_cap_is_refused_before_reading(self, candid) -> None:
        too_long = str(models.MAX_ATTACHMENT_BYTES + 2 * 1024 * 1024)
        response = candid.upload(headers={**DEV, "content-length": too_long})
        error(response, 422, "UnprocessableEntityError")


class TestDelete:
    def test_delete_removes_record_and_file(self, candid, client: TestClient, sandbox: Sandbox) -> None:
        url = candid.list().json()[0]["authed_url"]
        response = candid.delete(SEEDED)
        assert response.status_code == 200 and response.content == b""
        assert candid.list().json() == []
        assert client.get(url).status_code == 404  # S3 NoSuchKey: the file went with the record
        assert error(candid.delete(SEEDED), 404, "EntityNotFoundError") == {"id": SEEDED}

    @pytest.mark.parametrize(
        ("kwargs", "status", "name", "field"),
        [
            ({"json": {}}, 422, "HttpRequestValidationError", "attachment_id"),
            ({"json": {"attachment_id": "nope"}}, 422, "HttpRequestValidationError", "attachment_id"),
            (
                {"content": b"{oops", "headers": {**DEV, "content-type": "application/json"}},
                422,
                "HttpRequestValidationError",
                "body",
            ),
            (
                {"json": {"attachment_id": "a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d"}},
                404,
                "EntityNotFoundError",
                None,
            ),
        ],
        ids=["missing-id", "id-not-uuid", "invalid-json", "attachment-of-another-encounter"],
    )
    def test_refusals(
        self, candid, kwargs: dict[str, Any], status: int, name: str, field: str | None
    ) -> None:
        content = error(candid.delete(None, **kwargs), status, name)
        if field is not None:
            assert content["fieldName"] == field

    def test_another_organization_cannot_delete(self, candid) -> None:
        other = {"Authorization": "Bearer candid-other-token"}
        error(candid.delete(SEEDED, headers=other), 403, "UnauthorizedError")
        error(candid.delete(SEEDED, encounter=OTHER_ENCOUNTER, headers=other), 404, "EntityNotFoundError")
        assert [item["attachment_id"] for item in candid.list().json()] == [SEEDED]
