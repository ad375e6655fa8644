"""Decoda test helpers: the calls behind the ``decoda`` fixture.

Every response a helper receives is validated against Decoda's openapi.yaml.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

import pytest
from PIL import Image
from starlette.testclient import TestClient

DEMO = {"TENANT": "demo", "API-KEY": "decoda-dev-key"}
BOUNDARY = "decodaboundary"
FileSpec = tuple[str, bytes, str]


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (40, 20), (200, 30, 30)).save(out, format="PNG")
    return out.getvalue()


class DecodaActions:
    def __init__(self, client: TestClient, validate: Callable[..., Any]) -> None:
        self.client = client
        self.validate = validate

    def call(
        self, method: str, path: str, operation: str, headers: dict[str, str] = DEMO, **kwargs: Any
    ) -> tuple[int, Any]:
        """Any operation: its status and its validated body."""
        response = self.client.request(method, f"/decoda{path}", headers=headers, **kwargs)
        return response.status_code, self.validate("decoda", operation, response)

    def upload(self, filename: str = "a.png", body: bytes | None = None, **fields: str) -> dict[str, Any]:
        """One PNG through ``POST /attachments`` for patient P1001; the new attachment."""
        status, item = self.call(
            "POST",
            "/attachments",
            "uploadAttachment",
            data={"patient_id": "P1001", **fields},
            files={"attachment": (filename, _png() if body is None else body, "image/png")},
        )
        assert status == 200, item
        return item

    def upload_texts(
        self, patient_id: str = "P1001", headers: dict[str, str] = DEMO, count: int = 1, **fields: str
    ) -> list[dict[str, Any]]:
        """``count`` one-byte text files through ``POST /attachments/bulk``; the new attachments."""
        files = [("attachments", (f"{patient_id}-{index}.txt", b"x", "text/plain")) for index in range(count)]
        response = self.client.post(
            "/decoda/attachments/bulk",
            headers=headers,
            data={"patient_id": patient_id, **fields},
            files=files,
        )
        assert response.status_code == 200, response.text
        return self.validate("decoda", "uploadAttachmentsBulk", response)["attachments"]

    def bulk(self, files: list[FileSpec], headers: dict[str, str] = DEMO, **fields: str) -> Any:
        response = self.client.post(
            "/decoda/attachments/bulk",
            headers=headers,
            data={"patient_id": "P1001", **fields},
            files=[("attachments", spec) for spec in files],
        )
        self.validate("decoda", "uploadAttachmentsBulk", response)
        return response

    def raw(self, path: str, body: bytes, headers: dict[str, str] = DEMO, operation: str = "") -> Any:
        """A hand-built multipart body (boundary ``BOUNDARY``)."""
        content_type = {"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"}
        response = self.client.post(f"/decoda{path}", headers={**headers, **content_type}, content=body)
        self.validate("decoda", operation or "uploadAttachmentsBulk", response)
        return response

    def list(self, headers: dict[str, str] = DEMO, **params: str) -> Any:
        response = self.client.get("/decoda/attachments", headers=headers, params={"tz": "UTC", **params})
        self.validate("decoda", "listAttachments", response)
        return response

    def listing(self, **params: Any) -> Any:
        return self.call("GET", "/attachments", "listAttachments", params={"tz": "UTC", **params})[1]

    def page(self, **params: str) -> tuple[str, list[str], str | None]:
        body = self.list(**params).json()
        return body["date"], [item["originalFilename"] for item in body["data"]], body["nextDate"]

    def link(self, body: Any, headers: dict[str, str] = DEMO) -> Any:
        response = self.client.post("/decoda/attachments/link-to-note", headers=headers, json=body)
        self.validate("decoda", "linkAttachmentsToNote", response)
        return response

    def tag(self, name: str, headers: dict[str, str] = DEMO) -> dict[str, Any]:
        status, tag = self.call(
            "POST", "/attachments/tags", "createAttachmentTag", headers, json={"name": name}
        )
        assert status == 200, tag
        return tag


@pytest.fixture
def decoda(client: TestClient, validate_response: Callable[..., Any]) -> DecodaActions:
    return DecodaActions(client, validate_response)
