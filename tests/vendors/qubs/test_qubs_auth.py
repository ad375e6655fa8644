"""QUBS credentials and error format: the token endpoint, bearer checks, problem bodies for every status."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import Any

import pytest
import yaml
from starlette.requests import Request
from starlette.responses import Response
from starlette.testclient import TestClient

from mock_server.core.sandbox import Sandbox
from mock_server.vendors.qubs import errors

TOKEN = "/qubs/oauth2/token"
PENDING = "/qubs/integrations/v1/{domain}/reporting/appointments/pending"
CREDENTIALS = {
    "grant_type": "client_credentials",
    "client_id": "qubs-dev-client",
    "client_secret": "qubs-dev-secret",
}


def segment(token: str, index: int) -> dict[str, Any]:
    part = token.split(".")[index]
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


def claims_of(token: str) -> dict[str, Any]:
    return segment(token, 1)


def forge(token: str, **changes: Any) -> str:
    header, _, signature = token.split(".")
    claims = {**claims_of(token), **changes}
    body = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    return f"{header}.{body}.{signature}"


@pytest.fixture
def token_call(client: TestClient, validate_response: Callable[..., Any]) -> Callable[..., Any]:
    def call(**kwargs: Any) -> Any:
        response = client.post(TOKEN, **kwargs)
        validate_response("qubs", "createToken", response)
        return response

    return call


@pytest.fixture
def pending(client: TestClient, validate_response: Callable[..., Any]) -> Callable[..., Any]:
    def call(authorization: str | None, domain: str = "acme") -> Any:
        headers = {} if authorization is None else {"Authorization": authorization}
        response = client.get(PENDING.format(domain=domain), headers=headers)
        validate_response("qubs", "listPendingAppointments", response)
        return response

    return call


class TestTokenEndpoint:
    def test_client_credentials_issue_a_jwt(self, token_call: Callable[..., Any], sandbox: Sandbox) -> None:
        sandbox.clock.freeze("2026-11-24T10:00:00Z")
        response = token_call(data=CREDENTIALS)
        body = response.json()
        assert response.status_code == 200 and (body["expires_in"], body["token_type"]) == (3600, "Bearer")
        assert response.headers["cache-control"] == "no-store"
        assert segment(body["access_token"], 0)["alg"] == "HS256"
        claims = claims_of(body["access_token"])
        assert claims["client_id"] == "qubs-dev-client" and claims["domains"] == ["acme"]
        assert claims["exp"] - claims["iat"] == 3600 and claims["iat"] == 1795514400 and claims["jti"]

    def test_http_basic_credentials(self, token_call: Callable[..., Any]) -> None:
        basic = base64.b64encode(b"qubs-globex-client:qubs-globex-secret").decode()
        response = token_call(
            data={"grant_type": "client_credentials"}, headers={"Authorization": f"Basic {basic}"}
        )
        assert response.status_code == 200 and claims_of(response.json()["access_token"])["domains"] == [
            "globex"
        ]

    @pytest.mark.parametrize("credentials", [b"\xff\xfe==", b"!!!", b"/w=="])
    def test_unreadable_http_basic_is_invalid_client(
        self, token_call: Callable[..., Any], credentials: bytes
    ) -> None:
        response = token_call(
            data={"grant_type": "client_credentials"}, headers={"Authorization": b"Basic " + credentials}
        )
        assert response.status_code == 401 and response.json()["error"] == "invalid_client"

    def test_token_works_until_it_expires_on_the_clock(
        self, token_call: Callable[..., Any], pending: Callable[..., Any], sandbox: Sandbox
    ) -> None:
        sandbox.clock.freeze()  # only the advances below may move time, however slow the machine
        bearer = "Bearer " + token_call(data=CREDENTIALS).json()["access_token"]
        assert pending(bearer).status_code == 200
        sandbox.clock.advance(3599)
        assert pending(bearer).status_code == 200
        sandbox.clock.advance(1)
        assert "expired" in pending(bearer).json()["detail"]

    def test_lifetime_comes_from_the_sandbox(
        self, token_call: Callable[..., Any], sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setattr(type(sandbox), "lifetime", lambda self, request, default: 0.0)
        body = token_call(data=CREDENTIALS).json()
        claims = claims_of(body["access_token"])
        assert body["expires_in"] == 0 and claims["exp"] == claims["iat"]

    @pytest.mark.parametrize(
        ("kwargs", "status", "error"),
        [
            ({"data": {**CREDENTIALS, "client_secret": "wrong"}}, 401, "invalid_client"),
            ({"data": {**CREDENTIALS, "client_id": "nobody"}}, 401, "invalid_client"),
            ({"data": {"grant_type": "client_credentials"}}, 401, "invalid_client"),
            ({"data": {**CREDENTIALS, "grant_type": "password"}}, 400, "unsupported_grant_type"),
            ({"data": {**CREDENTIALS, "grant_type": "authorization_code"}}, 400, "unsupported_grant_type"),
            (
                {"data": {"client_id": "qubs-dev-client", "client_secret": "qubs-dev-secret"}},
                400,
                "invalid_request",
            ),
            ({"json": CREDENTIALS}, 400, "invalid_request"),
            (
                {"data": {"grant_type": "client_credentials"}, "headers": {"Authorization": "Basic !!!"}},
                401,
                "invalid_client",
            ),
        ],
        ids=[
            "wrong-secret",
            "unknown-client",
            "no-credentials",
            "password-grant",
            "code-grant",
            "no-grant-type",
            "json-body",
            "broken-basic",
        ],
    )
    def test_oauth_errors(
        self, token_call: Callable[..., Any], kwargs: dict[str, Any], status: int, error: str
    ) -> None:
        response = token_call(**kwargs)
        assert response.status_code == status and response.json()["error"] == error
        assert response.headers["content-type"] == "application/json"
        assert response.headers["x-correlation-id"]

    def test_wrong_method_is_an_oauth_error(self, client: TestClient) -> None:
        response = client.get(TOKEN)
        assert response.status_code == 405 and response.json()["error"] == "invalid_request"


class TestBearer:
    @pytest.mark.parametrize(
        ("authorization", "needle"),
        [
            (None, "missing"),
            ("", "missing"),
            ("qubs-dev-token", "malformed"),
            ("Basic cXViczpxdWJz", "malformed"),
            ("Bearer", "malformed"),
            ("Bearer two words", "malformed"),
            ("Bearer qubs-unknown-token", "invalid"),
            ("Bearer a.b.c", "invalid"),
        ],
        ids=[
            "absent",
            "empty",
            "no-scheme",
            "basic-scheme",
            "no-token",
            "two-tokens",
            "unknown",
            "garbage-jwt",
        ],
    )
    def test_unauthorized(self, pending: Callable[..., Any], authorization: str | None, needle: str) -> None:
        response = pending(authorization)
        body = response.json()
        assert (response.status_code, body["type"]) == (401, "urn:qubs:integrations:unauthorized")
        assert needle in body["detail"] and response.headers["www-authenticate"].startswith("Bearer")

    def test_tampered_claims_are_rejected(
        self, token_call: Callable[..., Any], pending: Callable[..., Any]
    ) -> None:
        token = token_call(data=CREDENTIALS).json()["access_token"]
        for forged in (forge(token, domains=["acme", "globex"]), forge(token, exp=4102444800)):
            assert pending(f"Bearer {forged}", domain="acme").status_code == 401

    def test_tokens_do_not_survive_a_reset_without_seed(
        self,
        client: TestClient,
        pending: Callable[..., Any],
        sandbox: Sandbox,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        token = client.post(TOKEN, data=CREDENTIALS).json()["access_token"]
        monkeypatch.setattr(sandbox.ids, "_seed", None)
        sandbox.reset()
        assert pending(f"Bearer {token}").status_code == 401

    @pytest.mark.parametrize(
        ("authorization", "domain", "status"),
        [
            ("Bearer qubs-dev-token", "acme", 200),
            ("bearer qubs-dev-token", "acme", 200),
            ("Bearer qubs-dev-token", "globex", 403),
            ("Bearer qubs-globex-token", "globex", 200),
            ("Bearer qubs-globex-token", "acme", 403),
            ("Bearer qubs-dev-token", "initech", 403),
        ],
        ids=[
            "acme-token-acme",
            "lowercase-scheme",
            "acme-token-globex",
            "globex-token-globex",
            "globex-token-acme",
            "unknown-domain",
        ],
    )
    def test_domain_scope(
        self, pending: Callable[..., Any], authorization: str, domain: str, status: int
    ) -> None:
        response = pending(authorization, domain=domain)
        assert response.status_code == status
        if status == 403:
            assert response.json()["type"] == "urn:qubs:integrations:forbidden"

    def test_jwt_domains_claim_scopes_it(self, client: TestClient, pending: Callable[..., Any]) -> None:
        form = {**CREDENTIALS, "client_id": "qubs-globex-client", "client_secret": "qubs-globex-secret"}
        bearer = "Bearer " + client.post(TOKEN, data=form).json()["access_token"]
        assert (pending(bearer, "globex").status_code, pending(bearer, "acme").status_code) == (200, 403)


class Rendered:
    """A rendered Starlette response, shaped like a client response for ``validate_response``."""

    def __init__(self, response: Response) -> None:
        self.status_code, self.headers, self._body = (
            response.status_code,
            response.headers,
            bytes(response.body),
        )

    def json(self) -> Any:
        return json.loads(self._body)


STATUSES = [400, 401, 403, 404, 409, 422, 429, 500, 502, 503, 504]
SLUGS = {
    400: "bad-request",
    401: "unauthorized",
    403: "forbidden",
    404: "not-found",
    409: "conflict",
    422: "bad-request",
    429: "too-many-requests",
    500: "server-error",
    502: "server-error",
    503: "server-error",
    504: "server-error",
}


@pytest.mark.parametrize("status", STATUSES, ids=[str(s) for s in STATUSES])
def test_error_for_status_renders_problem_json(
    status: int, app: Any, validate_response: Callable[..., Any]
) -> None:
    scope = {
        "type": "http",
        "method": "GET",
        "path": "/qubs/integrations/v1/acme/reporting/appointments/pending",
        "headers": [],
        "state": {"correlation_id": "cid-1", "operation": "qubs.listPendingAppointments"},
        "app": app,
    }
    response = Rendered(errors.render(Request(scope), errors.error_for_status(status, None)))
    assert response.status_code == status
    body = validate_response("qubs", "listPendingAppointments", response)
    assert body["type"] == f"urn:qubs:integrations:{SLUGS[status]}"
    assert (body["instance"], body["requestId"]) == (
        "/integrations/v1/acme/reporting/appointments/pending",
        "cid-1",
    )
    assert ("retry-after" in response.headers) == (status == 429)


@pytest.mark.parametrize(
    ("appointment", "status", "slug"),
    [("A429", 429, "too-many-requests"), ("A500", 500, "server-error"), ("A503", 503, "server-error")],
    ids=["429", "500", "503"],
)
def test_magic_ids_answer_in_qubs_format(
    client: TestClient, validate_response: Callable[..., Any], appointment: str, status: int, slug: str
) -> None:
    response = client.post(
        f"/qubs/integrations/v1/acme/reporting/appointments/{appointment}/report/attachments",
        json={"items": [{"fileName": "a.pdf"}]},
        headers={"X-Correlation-Id": "magic-1"},
    )
    body = validate_response("qubs", "createReportAttachments", response)
    assert (response.status_code, body["type"], body["requestId"]) == (
        status,
        f"urn:qubs:integrations:{slug}",
        "magic-1",
    )
    if status in (429, 503):
        assert response.headers["retry-after"] == "1"


def test_unknown_route_is_a_qubs_404(client: TestClient) -> None:
    response = client.get("/qubs/integrations/v1/acme/nothing-here", headers={"X-Correlation-Id": "c-404"})
    body = response.json()
    assert (response.status_code, body["type"], body["requestId"]) == (
        404,
        "urn:qubs:integrations:not-found",
        "c-404",
    )


def test_openapi_document_is_served(client: TestClient, validate_response: Callable[..., Any]) -> None:
    response = client.get("/qubs/openapi.json")
    document = validate_response("qubs", "openapi", response)
    operations = {op["operationId"] for item in document["paths"].values() for op in item.values()}
    assert operations == {
        "createToken",
        "listPendingAppointments",
        "getPendingAppointment",
        "listReportingAttachments",
        "createReportAttachments",
        "submitReport",
        "createComment",
        "listAppointmentAttachments",
        "getAppointmentAttachment",
        "openapi",
    }


def test_route_names_match_operation_ids(sandbox: Sandbox) -> None:
    path = sandbox.vendors["qubs"].openapi_path
    assert path is not None
    spec = yaml.safe_load(path.read_text(encoding="utf-8"))
    operation_ids = {op["operationId"] for item in spec["paths"].values() for op in item.values()}
    assert {route.name for route in sandbox.vendors["qubs"].routes} == {f"qubs:{op}" for op in operation_ids}


@pytest.mark.parametrize(
    ("status", "error"),
    [(429, "too_many_requests"), (500, "server_error"), (503, "server_error")],
    ids=["429", "500", "503"],
)
def test_faults_on_the_token_route_are_oauth_bodies(
    status: int, error: str, app: Any, validate_response: Callable[..., Any]
) -> None:
    scope = {
        "type": "http",
        "method": "POST",
        "path": TOKEN,
        "headers": [],
        "app": app,
        "state": {"correlation_id": "cid-2", "operation": "qubs.createToken"},
    }
    response = Rendered(errors.render(Request(scope), errors.error_for_status(status, None)))
    assert validate_response("qubs", "createToken", response)["error"] == error
    assert ("retry-after" in response.headers) == (status == 429)
