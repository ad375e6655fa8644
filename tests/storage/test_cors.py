"""Bucket CORS in-process: preflights as S3 answers them, and the headers on every answer with ``Origin``."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from mock_server.app import create_app
from mock_server.core.sandbox import Sandbox
from mock_server.settings import DEFAULT_FIXTURES, Settings
from mock_server.storage import cors

BASE = "http://127.0.0.1:8080"
QUBS = "qubs-report-attachments"
ORIGIN = "http://localhost:3000"
NOT_ALLOWED = (
    "CORSResponse: This CORS request is not allowed. This is usually because the evalution of Origin, "
    "request method / Access-Control-Request-Method or Access-Control-Request-Headers are not whitelisted "
    "by the resource's CORS spec."
)


def error(response) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return {child.tag: child.text or "" for child in ET.fromstring(response.content)}


def preflight(
    client: TestClient,
    path: str,
    method: str | None = "PUT",
    origin: str | None = ORIGIN,
    headers: str | None = None,
):  # type: ignore[no-untyped-def]
    sent = {
        "Origin": origin,
        "Access-Control-Request-Method": method,
        "Access-Control-Request-Headers": headers,
    }
    return client.options(path, headers={k: v for k, v in sent.items() if v is not None})


def test_preflight_for_a_qubs_upload_url_is_allowed(client: TestClient, sandbox: Sandbox) -> None:
    url = sandbox.storage.presign_put(
        BASE, QUBS, "acme/A1/report.pdf", expires_in=900, content_type="application/pdf"
    ).url
    response = preflight(client, url[len(BASE) :], headers="content-type")
    assert response.status_code == 200 and response.content == b""
    assert {k: v for k, v in response.headers.items() if k.startswith("access-control") or k == "vary"} == {
        "access-control-allow-origin": "*",
        "access-control-allow-methods": "PUT, POST, GET, HEAD",
        "access-control-allow-headers": "content-type",
        "access-control-expose-headers": "ETag",
        "access-control-max-age": "3000",
        "vary": "Origin, Access-Control-Request-Headers, Access-Control-Request-Method",
    }


RESTRICTED = [
    {
        "AllowedOrigins": ["https://*.example.com"],
        "AllowedMethods": ["PUT"],
        "AllowedHeaders": ["content-*"],
        "ExposeHeaders": ["ETag", "x-amz-request-id"],
    }
]


@pytest.mark.parametrize(
    ("bucket_rules", "path", "kwargs", "status", "code", "message", "extra"),
    [
        (
            None,
            f"/s3/{QUBS}/k",
            {"origin": None},
            400,
            "BadRequest",
            "Insufficient information. Origin request header needed.",
            {},
        ),
        (
            None,
            f"/s3/{QUBS}/k",
            {"method": "PATCH"},
            400,
            "BadRequest",
            "Invalid Access-Control-Request-Method: PATCH",
            {},
        ),
        (
            None,
            "/s3/sandbox-uploads/k",
            {},
            403,
            "AccessForbidden",
            "CORSResponse: CORS is not enabled for this bucket.",
            {"Method": "PUT", "ResourceType": "OBJECT"},
        ),
        (
            RESTRICTED,
            f"/s3/{QUBS}/k",
            {},
            403,
            "AccessForbidden",
            NOT_ALLOWED,
            {"Method": "PUT", "ResourceType": "OBJECT"},
        ),
        (
            RESTRICTED,
            f"/s3/{QUBS}",
            {"origin": "https://app.example.com", "method": "GET"},
            403,
            "AccessForbidden",
            NOT_ALLOWED,
            {"Method": "GET", "ResourceType": "BUCKET"},
        ),
        (
            RESTRICTED,
            f"/s3/{QUBS}/k",
            {"origin": "https://app.example.com", "headers": "x-custom"},
            403,
            "AccessForbidden",
            NOT_ALLOWED,
            {"Method": "PUT", "ResourceType": "OBJECT"},
        ),
    ],
    ids=[
        "no-origin",
        "bad-method",
        "cors-off",
        "origin-not-allowed",
        "method-not-allowed",
        "header-not-allowed",
    ],
)
def test_preflight_refusals(
    client: TestClient,
    sandbox: Sandbox,
    bucket_rules: list[dict[str, object]] | None,
    path: str,
    kwargs: dict[str, str | None],
    status: int,
    code: str,
    message: str,
    extra: dict[str, str],
) -> None:
    if bucket_rules is not None:
        cors.set_rules(sandbox.storage.objects, QUBS, bucket_rules)
    response = preflight(client, path, **kwargs)  # type: ignore[arg-type]
    body = error(response)
    assert (response.status_code, body["Code"], body["Message"]) == (status, code, message)
    assert {k: body[k] for k in extra} == extra
    assert "access-control-allow-origin" not in response.headers


def test_specific_origin_is_echoed_with_credentials(client: TestClient, sandbox: Sandbox) -> None:
    cors.set_rules(sandbox.storage.objects, QUBS, RESTRICTED)
    response = preflight(client, f"/s3/{QUBS}/k", origin="https://app.example.com", headers="Content-Type")
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == "https://app.example.com"
    assert response.headers["access-control-allow-credentials"] == "true"
    assert response.headers["access-control-expose-headers"] == "ETag, x-amz-request-id"


def test_errors_carry_the_cors_headers(client: TestClient, sandbox: Sandbox) -> None:
    url = sandbox.storage.presign_put(BASE, QUBS, "k.pdf", expires_in=60).url
    sandbox.clock.advance(120)
    response = client.put(url[len(BASE) :], content=b"x", headers={"Origin": ORIGIN})
    assert response.status_code == 403 and error(response)["Message"] == "Request has expired"
    assert response.headers["access-control-allow-origin"] == "*"
    assert response.headers["access-control-expose-headers"] == "ETag"
    assert response.headers["vary"].startswith("Origin")


def test_no_cors_headers_without_origin_or_without_a_matching_rule(
    client: TestClient, sandbox: Sandbox
) -> None:
    url = sandbox.storage.presign_get(BASE, QUBS, "missing.pdf", expires_in=60).url[len(BASE) :]
    assert "access-control-allow-origin" not in client.get(url).headers
    cors.set_rules(sandbox.storage.objects, QUBS, RESTRICTED)
    response = client.get(url, headers={"Origin": ORIGIN})
    assert "access-control-allow-origin" not in response.headers and response.headers["vary"].startswith(
        "Origin"
    )


@pytest.fixture
def fixture_client(tmp_path: Path) -> Iterator[TestClient]:
    extra = tmp_path / "cors.yaml"
    extra.write_text(
        "storage:\n  cors:\n    qubs-report-attachments: []\n    sandbox-uploads:\n"
        "      - AllowedOrigins: ['http://localhost:*']\n        AllowedMethods: [PUT]\n"
        "        AllowedHeaders: ['*']\n        MaxAgeSeconds: 60\n",
        encoding="utf-8",
    )
    app = create_app(Settings(seed=1, fixtures=(DEFAULT_FIXTURES, extra)))
    with TestClient(app, base_url=BASE) as test_client:
        yield test_client
    app.state.sandbox.close()


def test_fixtures_declare_and_override_bucket_rules(fixture_client: TestClient) -> None:
    allowed = preflight(fixture_client, "/s3/sandbox-uploads/k")
    assert allowed.status_code == 200 and allowed.headers["access-control-allow-origin"] == ORIGIN
    assert allowed.headers["access-control-max-age"] == "60"
    assert preflight(fixture_client, f"/s3/{QUBS}/k").status_code == 403


class TestStubCors:
    PATH = "/qubs/integrations/v1/acme/reporting/appointments/A123456/report/attachments"

    def test_off_by_default(self, client: TestClient) -> None:
        response = client.get(self.PATH, headers={"Origin": ORIGIN, "Authorization": "Bearer qubs-dev-token"})
        assert "access-control-allow-origin" not in response.headers

    def test_on_answers_preflights_and_echoes_the_origin(self) -> None:
        app = create_app(Settings(seed=1, stub_cors=True))
        try:
            with TestClient(app, base_url=BASE) as stub:
                response = preflight(stub, self.PATH, method="POST", headers="authorization,content-type")
                assert response.status_code == 200
                assert response.headers["access-control-allow-origin"] == ORIGIN
                assert response.headers["access-control-allow-headers"] == "authorization,content-type"
                answer = stub.get(
                    self.PATH, headers={"Origin": ORIGIN, "Authorization": "Bearer qubs-dev-token"}
                )
                assert answer.headers["access-control-allow-origin"] == ORIGIN
                assert "x-correlation-id" in answer.headers["access-control-expose-headers"]
        finally:
            app.state.sandbox.close()
