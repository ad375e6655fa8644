"""SaferMe under the scenario engine: magic X-TeamId faults in SaferMe's format, and issued lifetimes
(policies, links, access tokens) shortened by a scenario."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from starlette.testclient import TestClient

AUTHORIZE = "/saferme/api/v4/file_attachments/upload_authorization"
HEADERS = {
    "Authorization": "Token token=saferme-dev-token",
    "X-AppId": "com.thundermaps.saferme",
    "X-TeamId": "1234",
    "X-InstallationId": "install-0001",
}
BASE = "http://127.0.0.1:8080"
Validate = Callable[..., Any]


def expire(client: TestClient, operation: str) -> None:
    scenario = {
        "scenarios": [
            {
                "name": f"expire-{operation}",
                "description": "issue already expired",
                "rules": [{"match": {"operation": f"saferme.{operation}"}, "lifetime": "expired"}],
            }
        ]
    }
    response = client.post("/__admin/scenarios", json=scenario)
    assert response.status_code in (200, 201), response.text


@pytest.mark.parametrize(
    ("team", "status", "code"),
    [
        ("400", 400, "bad_request"),
        ("401", 401, "invalid_token"),
        ("404", 404, "not_found"),
        ("422", 422, "invalid"),
        ("429", 429, "too_many_requests"),
        ("500", 500, "internal_server_error"),
        ("503", 503, "service_unavailable"),
    ],
    ids=lambda value: str(value),
)
def test_magic_team_ids_answer_in_saferme_format(
    client: TestClient, validate_response: Validate, team: str, status: int, code: str
) -> None:
    response = client.get(
        AUTHORIZE, params={"content_type": "image/png"}, headers={**HEADERS, "X-TeamId": team}
    )
    assert response.status_code == status
    body = validate_response("saferme", "getUploadAuthorization", response)
    assert body["error_codes"]["base"][0]["error"] == code
    if status in (429, 503):
        assert response.headers["retry-after"] == "1"


def test_expired_upload_authorization(client: TestClient) -> None:
    expire(client, "getUploadAuthorization")
    authorization = client.get(AUTHORIZE, params={"content_type": "image/png"}, headers=HEADERS).json()
    authorization = authorization["upload_authorization"]
    response = client.post(
        authorization["url"][len(BASE) :],
        data=authorization["fields"],
        files={"file": ("a.png", b"\x89PNG", "image/png")},
    )
    assert response.status_code == 403 and b"Policy expired." in response.content


def test_expired_links(client: TestClient) -> None:
    authorization = client.get(AUTHORIZE, params={"content_type": "image/png"}, headers=HEADERS).json()
    authorization = authorization["upload_authorization"]
    uploaded = client.post(
        authorization["url"][len(BASE) :],
        data=authorization["fields"],
        files={"file": ("a.png", b"\x89PNG", "image/png")},
    )
    assert uploaded.status_code == 201
    expire(client, "createFileAttachment")
    created = client.post(
        "/saferme/api/v4/file_attachments",
        headers=HEADERS,
        json={"file_attachment": {"key": authorization["key"]}},
    )
    link = client.get(created.json()["original_url"][len(BASE) :])
    assert link.status_code == 403 and b"Request has expired" in link.content


def test_expired_access_token(client: TestClient) -> None:
    expire(client, "createSession")
    login = client.post(
        "/saferme/api/v3/sessions",
        headers={"X-AppId": "com.thundermaps.saferme"},
        json={"user": {"email": "integrations@example.com", "password": "saferme-dev-password"}},
    )
    token = login.json()["auth_token"]
    response = client.get(
        AUTHORIZE,
        params={"content_type": "image/png"},
        headers={**HEADERS, "Authorization": f"Token token={token}"},
    )
    assert response.status_code == 401
