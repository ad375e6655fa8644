"""Candid in-process: the OAuth token endpoint and bearer checks, bodies checked against openapi.yaml."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from starlette.testclient import TestClient

from mock_server.core.sandbox import Sandbox

CREDENTIALS = {"client_id": "candid-dev-client", "client_secret": "candid-dev-secret"}


def error(response: Any, status: int, name: str) -> Any:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["errorName"] == name
    return body["content"]


class TestToken:
    def test_json_credentials_give_a_jwt_for_five_hours(self, candid) -> None:
        body = candid.token(json=CREDENTIALS).json()
        assert body["expires_in"] == 18000 and body["token_type"] == "Bearer"
        header, claims, _ = body["access_token"].split(".")
        decoded = json.loads(base64.urlsafe_b64decode(claims + "=" * (-len(claims) % 4)))
        assert decoded["azp"] == "candid-dev-client" and decoded["exp"] - decoded["iat"] == 18000
        listed = candid.list(headers={"Authorization": f"Bearer {body['access_token']}"})
        assert listed.status_code == 200

    def test_form_encoded_credentials_are_accepted(self, candid) -> None:
        response = candid.token(data=CREDENTIALS)
        assert response.status_code == 200 and response.json()["expires_in"] == 18000

    def test_token_expires_on_the_sandbox_clock(self, candid, clock: Any) -> None:
        clock.freeze()
        headers = candid.bearer()
        clock.advance(17999)
        assert candid.list(headers=headers).status_code == 200
        clock.advance(1)
        content = error(candid.list(headers=headers), 401, "UnauthorizedError")
        assert "expired" in content["message"]

    def test_scenario_lifetime_shortens_the_token(self, candid, client: TestClient) -> None:
        scenario = {
            "scenarios": [
                {
                    "name": "short",
                    "description": "60 s tokens",
                    "rules": [{"id": "t", "match": {"operation": "candid.getToken"}, "lifetime": 60}],
                }
            ]
        }
        assert client.post("/__admin/scenarios", json=scenario).status_code == 201
        assert candid.token(json=CREDENTIALS).json()["expires_in"] == 60

    def test_reset_revokes_issued_tokens(self, candid, sandbox: Sandbox) -> None:
        headers = candid.bearer()
        sandbox.reset()
        error(candid.list(headers=headers), 401, "UnauthorizedError")

    @pytest.mark.parametrize(
        ("kwargs", "status", "name", "field"),
        [
            ({"json": {**CREDENTIALS, "client_secret": "wrong"}}, 401, "UnauthorizedError", None),
            ({"json": {"client_id": "nobody", "client_secret": "x"}}, 401, "UnauthorizedError", None),
            (
                {"content": b"client_id=a", "headers": {"content-type": "text/plain"}},
                415,
                "InvalidContentTypeError",
                None,
            ),
            ({"content": b"{}"}, 415, "InvalidContentTypeError", None),
            (
                {"json": {"client_id": "candid-dev-client"}},
                422,
                "HttpRequestValidationError",
                "client_secret",
            ),
            ({"json": {}}, 422, "HttpRequestValidationsError", None),
            (
                {"content": b"{not json", "headers": {"content-type": "application/json"}},
                422,
                "HttpRequestValidationError",
                "body",
            ),
            (
                {"json": {"client_id": 7, "client_secret": "x"}},
                422,
                "HttpRequestValidationError",
                "client_id",
            ),
        ],
        ids=[
            "wrong-secret",
            "unknown-client",
            "text-plain",
            "no-content-type",
            "missing-secret",
            "missing-both",
            "invalid-json",
            "client-id-not-string",
        ],
    )
    def test_refusals(
        self, candid, kwargs: dict[str, Any], status: int, name: str, field: str | None
    ) -> None:
        content = error(candid.token(**kwargs), status, name)
        if field is not None:
            assert content["fieldName"] == field
        if name == "HttpRequestValidationsError":
            assert [item["fieldName"] for item in content] == ["client_id", "client_secret"]


class TestBearer:
    @pytest.mark.parametrize(
        "authorization",
        [
            None,
            "Basic Y2FuZGlkOng=",
            "Bearer ",
            "Bearer not-a-token",
            "Bearer a.b.c",
            "Bearer eyJhbGciOiJIUzI1NiJ9.eyJqdGkiOiJ4In0.forged",
        ],
        ids=["missing", "basic", "empty-bearer", "unknown-static", "garbage-jwt", "forged-jwt"],
    )
    def test_bad_bearer_is_401(self, candid, authorization: str | None) -> None:
        headers = {"Authorization": authorization} if authorization else {}
        response = candid.list(headers=headers)
        error(response, 401, "UnauthorizedError")
        assert response.headers["www-authenticate"].startswith("Bearer")

    def test_tampered_claims_are_refused(self, candid) -> None:
        token = candid.token(json=CREDENTIALS).json()["access_token"]
        header, claims, signature = token.split(".")
        forged = json.loads(base64.urlsafe_b64decode(claims + "=" * (-len(claims) % 4)))
        forged["exp"] += 10**6
        other = base64.urlsafe_b64encode(json.dumps(forged).encode()).rstrip(b"=").decode()
        error(
            candid.list(headers={"Authorization": f"Bearer {header}.{other}.{signature}"}),
            401,
            "UnauthorizedError",
        )
