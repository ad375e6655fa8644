"""SaferMe's v4 Sessions API (sessions.md): create, fetch, refresh and delete, on the sandbox clock."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from starlette.testclient import TestClient

from mock_server.core.clock import Clock

SESSION = "/saferme/api/v4/session"
AUTHORIZE = "/saferme/api/v4/file_attachments/upload_authorization"
LOGIN = {
    "app_bundle_id": "com.thundermaps.saferme",
    "email": "integrations@example.com",
    "password": "saferme-dev-password",
}
Validate = Callable[..., Any]


def code_of(body: dict[str, Any]) -> tuple[str, str]:
    attribute, details = next(iter(body["error_codes"].items()))
    return attribute, details[0]["error"]


class Sessions:
    def __init__(self, client: TestClient, validate: Validate) -> None:
        self.client = client
        self.validate = validate

    def create(self, session: object = LOGIN, status: int = 201) -> Any:
        response = self.client.post(SESSION, json={"session": session})
        assert response.status_code == status, response.text
        return self.validate("saferme", "createV4Session", response)

    def get(self, access_token: str, status: int = 200) -> Any:
        response = self.client.get(SESSION, headers={"Authorization": f"Token token={access_token}"})
        assert response.status_code == status, response.text
        return self.validate("saferme", "getV4Session", response)

    def refresh(self, access_token: str, refresh_token: str, status: int = 200) -> Any:
        body = {"session": {"access_token": access_token, "refresh_token": refresh_token}}
        response = self.client.patch(SESSION, json=body)
        assert response.status_code == status, response.text
        return self.validate("saferme", "refreshV4Session", response)

    def delete(self, access_token: str, status: int = 200) -> Any:
        response = self.client.delete(SESSION, headers={"Authorization": f"Token token={access_token}"})
        assert response.status_code == status, response.text
        return self.validate("saferme", "deleteV4Session", response)

    def authorize(self, access_token: str, team: str = "1234") -> int:
        headers = {
            "Authorization": f"Token token={access_token}",
            "X-AppId": "com.thundermaps.saferme",
            "X-TeamId": team,
        }
        return self.client.get(AUTHORIZE, params={"content_type": "image/png"}, headers=headers).status_code


@pytest.fixture
def sessions(client: TestClient, validate_response: Validate) -> Sessions:
    return Sessions(client, validate_response)


def test_create_answers_the_documented_session(sessions: Sessions, clock: Clock) -> None:
    clock.freeze()
    session = sessions.create()["session"]
    assert session["access_token"].startswith("smt_") and session["refresh_token"]
    assert session["app_bundle_id"] == "com.thundermaps.saferme" and session["branded_app_id"] == 1
    assert session["profile"]["user_id"] == 1234 and session["profile"]["preferred_team_id"] == 1234
    assert session["token_expire_at"].endswith("Z") and "." in session["token_expire_at"]
    assert sessions.create()["session"]["profile"]["user_uuid"] == session["profile"]["user_uuid"]


def test_the_access_token_works_on_v4_calls_for_each_team(sessions: Sessions) -> None:
    token = sessions.create()["session"]["access_token"]
    assert [sessions.authorize(token, team) for team in ("1234", "5678", "9999")] == [200, 200, 403]


def test_fetch_shows_no_tokens(sessions: Sessions) -> None:
    created = sessions.create()["session"]
    fetched = sessions.get(created["access_token"])["session"]
    assert "access_token" not in fetched and "refresh_token" not in fetched
    assert fetched == {k: v for k, v in created.items() if k not in ("access_token", "refresh_token")}


def test_refresh_replaces_the_pair_at_once(sessions: Sessions, clock: Clock) -> None:
    old = sessions.create()["session"]
    clock.advance(60)
    new = sessions.refresh(old["access_token"], old["refresh_token"])["session"]
    assert new["access_token"] != old["access_token"] and new["refresh_token"] != old["refresh_token"]
    assert new["client_uuid"] == old["client_uuid"] and new["token_expire_at"] > old["token_expire_at"]
    assert sessions.authorize(old["access_token"]) == 401
    assert code_of(sessions.get(old["access_token"], status=401)) == ("base", "invalid_token")
    assert code_of(sessions.refresh(old["access_token"], old["refresh_token"], status=401)) == (
        "base",
        "invalid_refresh_token",
    )
    assert sessions.authorize(new["access_token"]) == 200


def test_an_expired_access_token_is_refused_then_refreshed(sessions: Sessions, clock: Clock) -> None:
    old = sessions.create()["session"]
    clock.advance(3600)
    assert sessions.authorize(old["access_token"]) == 401
    sessions.get(old["access_token"], status=401)
    new = sessions.refresh(old["access_token"], old["refresh_token"])["session"]
    assert sessions.authorize(new["access_token"]) == 200


def test_the_refresh_token_expires_too(sessions: Sessions, clock: Clock) -> None:
    old = sessions.create()["session"]
    clock.advance(30 * 24 * 3600)
    body = sessions.refresh(old["access_token"], old["refresh_token"], status=401)
    assert code_of(body) == ("base", "invalid_refresh_token")


def test_refresh_needs_the_matching_access_token(sessions: Sessions) -> None:
    first, second = sessions.create()["session"], sessions.create()["session"]
    sessions.refresh(second["access_token"], first["refresh_token"], status=401)
    assert sessions.authorize(first["access_token"]) == 200


def test_delete_invalidates_both_tokens(sessions: Sessions) -> None:
    session = sessions.create()["session"]
    assert sessions.delete(session["access_token"]) == {}
    assert sessions.authorize(session["access_token"]) == 401
    sessions.delete(session["access_token"], status=401)
    sessions.refresh(session["access_token"], session["refresh_token"], status=401)


@pytest.mark.parametrize(
    ("session", "status", "expected"),
    [
        ({**LOGIN, "password": "wrong"}, 401, ("base", "bad_credentials")),
        ({**LOGIN, "email": "", "password": ""}, 401, ("base", "bad_credentials")),
        ({"app_bundle_id": LOGIN["app_bundle_id"]}, 401, ("base", "bad_credentials")),
        (
            {
                "app_bundle_id": "com.thundermaps.saferme",
                "email": "locked@example.com",
                "password": "saferme-locked-password",
            },
            401,
            ("base", "account_locked"),
        ),
        ({k: v for k, v in LOGIN.items() if k != "app_bundle_id"}, 422, ("app_bundle_id", "blank")),
        ({**LOGIN, "app_bundle_id": "com.example.other"}, 422, ("app_bundle_id", "inclusion")),
        ({**LOGIN, "email": 5}, 422, ("email", "invalid")),
        ("not-an-object", 422, ("session", "invalid")),
    ],
    ids=[
        "wrong-password",
        "blank",
        "no-credentials",
        "locked",
        "no-app",
        "unknown-app",
        "email-type",
        "not-object",
    ],
)
def test_create_refusals(sessions: Sessions, session: object, status: int, expected: tuple[str, str]) -> None:
    assert code_of(sessions.create(session, status=status)) == expected


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({}, ("session", "blank")),
        ({"session": {"refresh_token": "x"}}, ("access_token", "blank")),
        ({"session": {"access_token": "x", "refresh_token": ""}}, ("refresh_token", "blank")),
    ],
    ids=["no-session", "no-access-token", "blank-refresh-token"],
)
def test_refresh_refusals(
    client: TestClient, validate_response: Validate, body: object, expected: tuple[str, str]
) -> None:
    response = client.patch(SESSION, json=body)
    assert response.status_code == 422
    assert code_of(validate_response("saferme", "refreshV4Session", response)) == expected


def test_bodies_that_are_not_json(client: TestClient, validate_response: Validate) -> None:
    for method in ("POST", "PATCH"):
        response = client.request(method, SESSION, content=b"{session")
        assert response.status_code == 400
        validate_response("saferme", "createV4Session", response)


def test_v3_tokens_are_not_v4_sessions(client: TestClient, sessions: Sessions) -> None:
    v3 = client.post(
        "/saferme/api/v3/sessions",
        json={"user": {"email": LOGIN["email"], "password": LOGIN["password"]}},
        headers={"X-AppId": "com.thundermaps.saferme"},
    )
    assert v3.status_code == 200
    token = v3.json()["auth_token"]
    assert sessions.authorize(token) == 200
    sessions.get(token, status=401)
    sessions.get("saferme-dev-token", status=401)
