"""SaferMe test helpers: the authorize -> upload -> create flow behind the ``saferme`` fixture.

Every JSON answer a helper receives is validated against the SaferMe openapi.yaml.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

import pytest
from PIL import Image
from starlette.testclient import TestClient

BASE = "http://127.0.0.1:8080"
AUTHORIZE = "/saferme/api/v4/file_attachments/upload_authorization"
ATTACHMENTS = "/saferme/api/v4/file_attachments"
HEADERS = {
    "Authorization": "Token token=saferme-dev-token",
    "X-AppId": "com.thundermaps.saferme",
    "X-TeamId": "1234",
    "X-InstallationId": "install-0001",
}
Validate = Callable[..., Any]


def _png(size: tuple[int, int]) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (200, 40, 40)).save(buffer, "PNG")
    return buffer.getvalue()


def _local(url: str) -> str:
    assert url.startswith(BASE), url
    return url[len(BASE) :]


class SaferMe:
    """The three-step flow against the in-process app, every JSON answer checked against openapi.yaml."""

    def __init__(self, client: TestClient, validate: Validate) -> None:
        self.client = client
        self.validate = validate

    def authorize(self, content_type: str = "image/png", headers: dict[str, str] = HEADERS) -> dict[str, Any]:
        response = self.client.get(AUTHORIZE, params={"content_type": content_type}, headers=headers)
        assert response.status_code == 200, response.text
        return self.validate("saferme", "getUploadAuthorization", response)["upload_authorization"]

    def upload(
        self,
        authorization: dict[str, Any],
        key: str | None = None,
        data: bytes | None = None,
        filename: str = "picture.png",
    ) -> Any:
        fields = {**authorization["fields"], "key": key or authorization["fields"]["key"]}
        content = _png((800, 600)) if data is None else data
        return self.client.post(
            _local(authorization["url"]),
            data=fields,
            files={"file": (filename, content, fields["Content-Type"])},
        )

    def uploaded(
        self,
        content_type: str = "image/png",
        name: str | None = "picture.png",
        data: bytes | None = None,
        headers: dict[str, str] = HEADERS,
    ) -> str:
        """Authorize and upload; the key to create the attachment with."""
        authorization = self.authorize(content_type, headers)
        key = authorization["key_prefix"] + name if name else authorization["key"]
        response = self.upload(authorization, key, data)
        assert response.status_code == 201, response.text
        return key

    def create(self, key: object, headers: dict[str, str] = HEADERS) -> Any:
        response = self.client.post(ATTACHMENTS, json={"file_attachment": {"key": key}}, headers=headers)
        self.validate("saferme", "createFileAttachment", response)
        return response

    def attachment(
        self, content_type: str = "image/png", headers: dict[str, str] = HEADERS, data: bytes | None = None
    ) -> int:
        """Authorize, upload ``data`` (default: a PNG or a small PDF) and create; the new attachment's id."""
        png = content_type == "image/png"
        data = data if data is not None else (_png((800, 600)) if png else b"%PDF-1.4 sandbox")
        key = self.uploaded(content_type, "picture.png" if png else "file.bin", data, headers)
        created = self.client.post(ATTACHMENTS, json={"file_attachment": {"key": key}}, headers=headers)
        assert created.status_code in (200, 202), created.text
        return created.json()["id"]

    def get(self, attachment_id: object, headers: dict[str, str] = HEADERS) -> Any:
        response = self.client.get(f"{ATTACHMENTS}/{attachment_id}", headers=headers)
        self.validate("saferme", "getFileAttachment", response)
        return response


@pytest.fixture
def saferme(client: TestClient, validate_response: Validate) -> SaferMe:
    return SaferMe(client, validate_response)


@pytest.fixture
def saferme_for(validate_response: Validate) -> Callable[[TestClient], SaferMe]:
    """The same helpers against another app's client (an app built with other settings)."""
    return lambda client: SaferMe(client, validate_response)
