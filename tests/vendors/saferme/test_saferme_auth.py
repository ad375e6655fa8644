"""SaferMe credentials (token, X-AppId, X-TeamId, X-InstallationId), the Sessions API and the error format."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from starlette.requests import Request
from starlette.testclient import TestClient

from mock_server.core.clock import Clock
from mock_server.core.openapi import issues_of
from mock_server.vendors.saferme.auth import token_of
from mock_server.vendors.saferme.errors import error_for_status, render
from mock_server.vendors.saferme.routes import DOCUMENT

AUTHORIZE = "/saferme/api/v4/file_attachments/upload_authorization"
SESSIONS = "/saferme/api/v3/sessions"
HEADERS = {
    "Authorization": "Token token=saferme-dev-token",
    "X-AppId": "com.thundermaps.saferme",
    "X-TeamId": "1234",
    "X-InstallationId": "install-0001",
}
USER = {"email": "integrations@example.com", "password": "saferme-dev-password"}
Validate = Callable[..., Any]


def headers(**changes: str | None) -> dict[str, str]:
    """HEADERS with some replaced; ``None`` drops one (names use ``_`` for ``-``)."""
    result = dict(HEADERS)
    for name, value in changes.items():
        header = name.replace("_", "-")
        result.pop(header, None)
        if value is not None:
            result[header] = value
    return result


def error_code(body: dict[str, Any], attribute: str = "base") -> str:
    return body["error_codes"][attribute][0]["error"]


class TestTokenHeader:
    @pytest.mark.parametrize(
        ("header", "token"),
        [
            ("Token token=abc", "abc"),
            ('Token token="abc"', "abc"),
            ("token   token=abc", "abc"),
            ('Token token="a\\"b"', 'a"b'),
            ("Token token=abc, nonce=1", "abc"),
            ("Token nonce=1; token=abc", "abc"),
            ("Token abc", None),
            ("Token token=", None),
            ("Bearer abc", None),
            ("", None),
        ],
        ids=[
            "plain",
            "quoted",
            "scheme-case",
            "escaped-quote",
            "options-after",
            "options-before",
            "no-name",
            "empty",
            "bearer",
            "blank",
        ],
    )
    def test_token_of(self, header: str, token: str | None) -> None:
        assert token_of(header) == token

    def test_quoted_form_is_accepted(self, client: TestClient, validate_response: Validate) -> None:
        response = client.get(
            AUTHORIZE,
            params={"content_type": "image/png"},
            headers=headers(Authorization='Token token="saferme-dev-token"'),
        )
        assert response.status_code == 200
        validate_response("saferme", "getUploadAuthorization", response)

    def test_header_names_are_case_insensitive(self, client: TestClient) -> None:
        sdk_spelling = {
            "authorization": HEADERS["Authorization"],
            "X-AppID": "com.thundermaps.saferme",
            "X-TeamID": "1234",
            "X-InstallationID": "sdk-install",
        }
        response = client.get(AUTHORIZE, params={"content_type": "image/png"}, headers=sdk_spelling)
        assert response.status_code == 200


AUTH_FAILURES = [
    pytest.param(headers(Authorization=None), 401, "invalid_token", id="no-authorization"),
    pytest.param(headers(Authorization="Token token=wrong"), 401, "invalid_token", id="unknown-token"),
    pytest.param(headers(Authorization="Bearer saferme-dev-token"), 401, "invalid_token", id="bearer-scheme"),
    pytest.param(headers(Authorization="Token saferme-dev-token"), 401, "invalid_token", id="no-token-name"),
    pytest.param(headers(X_AppId=None), 401, "invalid_app_id", id="no-app-id"),
    pytest.param(headers(X_AppId="com.example.other"), 401, "invalid_app_id", id="unknown-app-id"),
    pytest.param(headers(X_TeamId="5678"), 403, "forbidden", id="team-of-another-key"),
    pytest.param(headers(X_TeamId="9999"), 403, "forbidden", id="unknown-team"),
    pytest.param(headers(X_TeamId="12a"), 403, "forbidden", id="non-numeric-team"),
]


class TestAuthFailures:
    @pytest.mark.parametrize(("request_headers", "status", "code"), AUTH_FAILURES)
    def test_every_v4_endpoint_refuses(
        self,
        client: TestClient,
        validate_response: Validate,
        request_headers: dict[str, str],
        status: int,
        code: str,
    ) -> None:
        calls = {
            "getUploadAuthorization": lambda: client.get(
                AUTHORIZE, params={"content_type": "image/png"}, headers=request_headers
            ),
            "createFileAttachment": lambda: client.post(
                "/saferme/api/v4/file_attachments",
                headers=request_headers,
                json={"file_attachment": {"key": "async_uploads/x"}},
            ),
            "getFileAttachment": lambda: client.get(
                "/saferme/api/v4/file_attachments/21", headers=request_headers
            ),
        }
        for operation, call in calls.items():
            response = call()
            assert response.status_code == status, operation
            body = validate_response("saferme", operation, response)
            assert error_code(body) == code
            assert body["errors"] == body["failures"]["base"] and len(body["errors"]) == 1
            assert response.headers["x-request-id"]
            if code == "invalid_token":
                assert response.headers["www-authenticate"] == 'Token realm="Application"'

    @pytest.mark.parametrize(
        "installation_id", [None, "  ", "sdk-install"], ids=["absent", "blank", "present"]
    )
    def test_installation_id_is_optional(
        self, client: TestClient, validate_response: Validate, installation_id: str | None
    ) -> None:
        """SaferMe's current docs (2022-02-24) require only Authorization, X-AppId and X-TeamId."""
        response = client.get(
            AUTHORIZE, params={"content_type": "image/png"}, headers=headers(X_InstallationId=installation_id)
        )
        assert response.status_code == 200
        validate_response("saferme", "getUploadAuthorization", response)

    def test_older_app_id_and_missing_team_header(self, client: TestClient) -> None:
        response = client.get(
            AUTHORIZE,
            params={"content_type": "image/png"},
            headers=headers(X_AppId="com.thundermaps.main", X_TeamId=None),
        )
        assert response.status_code == 200


class TestSessions:
    def login(self, client: TestClient, user: object = USER) -> Any:
        request_headers = {"X-AppId": "com.thundermaps.saferme", "Content-Type": "application/json"}
        return client.post(SESSIONS, json={"user": user}, headers=request_headers)

    def test_login_then_use_the_token_for_each_team(
        self, client: TestClient, validate_response: Validate
    ) -> None:
        response = self.login(client)
        assert response.status_code == 200
        body = validate_response("saferme", "createSession", response)
        assert body["user_id"] == 1234 and body["team_id"] is None and body["consent_required"] is False
        token = body["auth_token"]
        for team in ("1234", "5678"):
            use = headers(Authorization=f"Token token={token}", X_TeamId=team)
            assert client.get(AUTHORIZE, params={"content_type": "image/png"}, headers=use).status_code == 200
        refused = client.get(
            AUTHORIZE,
            params={"content_type": "image/png"},
            headers=headers(Authorization=f"Token token={token}", X_TeamId="9999"),
        )
        assert refused.status_code == 403

    def test_email_is_case_insensitive(self, client: TestClient) -> None:
        response = self.login(client, {**USER, "email": "Integrations@Example.COM"})
        assert response.status_code == 200

    def test_token_expires_on_the_sandbox_clock(self, client: TestClient, clock: Clock) -> None:
        token = self.login(client).json()["auth_token"]
        use = headers(Authorization=f"Token token={token}")
        assert client.get(AUTHORIZE, params={"content_type": "image/png"}, headers=use).status_code == 200
        clock.advance(30 * 24 * 3600 + 1)
        response = client.get(AUTHORIZE, params={"content_type": "image/png"}, headers=use)
        assert (response.status_code, error_code(response.json())) == (401, "invalid_token")

    @pytest.mark.parametrize(
        ("user", "code", "message"),
        [
            ({"email": "", "password": ""}, "bad_credentials", "Please enter your email and password"),
            ({"email": USER["email"]}, "bad_credentials", "Please enter your email and password"),
            ("not-an-object", "bad_credentials", "Please enter your email and password"),
            ({**USER, "password": "wrong"}, "bad_credentials", "Invalid email or password."),
            (
                {"email": "nobody@example.com", "password": "x"},
                "bad_credentials",
                "Invalid email or password.",
            ),
            (
                {"email": "locked@example.com", "password": "saferme-locked-password"},
                "account_locked",
                "Your account is locked.",
            ),
        ],
        ids=["blank", "no-password", "not-an-object", "wrong-password", "unknown-email", "locked"],
    )
    def test_refusals(
        self, client: TestClient, validate_response: Validate, user: object, code: str, message: str
    ) -> None:
        response = self.login(client, user)
        assert response.status_code == 401
        body = validate_response("saferme", "createSession", response)
        assert (error_code(body), body["errors"]) == (code, [message])

    def test_needs_app_id_and_json(self, client: TestClient, validate_response: Validate) -> None:
        no_app = client.post(SESSIONS, json={"user": USER})
        assert (no_app.status_code, error_code(no_app.json())) == (401, "invalid_app_id")
        broken = client.post(SESSIONS, content=b"{user", headers={"X-AppId": "com.thundermaps.saferme"})
        assert (broken.status_code, error_code(validate_response("saferme", "createSession", broken))) == (
            400,
            "bad_request",
        )


@pytest.mark.parametrize(
    ("status", "code"),
    [
        (400, "bad_request"),
        (401, "invalid_token"),
        (403, "forbidden"),
        (404, "not_found"),
        (405, "method_not_allowed"),
        (409, "conflict"),
        (413, "payload_too_large"),
        (420, "enhance_your_calm"),
        (422, "invalid"),
        (429, "too_many_requests"),
        (500, "internal_server_error"),
        (502, "bad_gateway"),
        (503, "service_unavailable"),
        (504, "gateway_timeout"),
        (599, "server_error"),
    ],
    ids=lambda value: str(value),
)
def test_error_for_status_renders_in_saferme_format(status: int, code: str) -> None:
    request = Request(
        {"type": "http", "method": "GET", "path": "/", "headers": [], "state": {"correlation_id": "cid-1"}}
    )
    response = render(request, error_for_status(status, None))
    body = json.loads(bytes(response.body))
    validator = DOCUMENT.response_validator("getFileAttachment", status)
    assert validator is not None and not issues_of(validator, body)
    assert (response.status_code, error_code(body), response.headers["x-request-id"]) == (
        status,
        code,
        "cid-1",
    )
    assert body["errors"] and body["errors"] == body["failures"]["base"]
    if status == 429:
        assert response.headers["retry-after"] == "1"


def test_unknown_route_and_method_answer_in_saferme_format(client: TestClient) -> None:
    missing = client.get("/saferme/api/v4/nothing", headers=HEADERS)
    assert (missing.status_code, error_code(missing.json())) == (404, "not_found")
    wrong_method = client.delete("/saferme/api/v4/file_attachments", headers=HEADERS)
    assert (wrong_method.status_code, error_code(wrong_method.json())) == (405, "method_not_allowed")
