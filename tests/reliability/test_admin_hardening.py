"""The admin API under hostile input: oversized and deeply nested bodies, non-finite clock moves,
partial updates, cross-site requests, the optional admin token, and stored objects a browser could
render on the admin origin.
"""

from __future__ import annotations

import base64
import select
import socket
from collections.abc import Iterator

import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient

from mock_server.app import create_app
from mock_server.core.bodies import BodyWriter
from mock_server.settings import Settings
from mock_server.testing.admin_client import AdminClient, AdminError
from mock_server.testing.server import LiveServer

TOKEN = "s3cret-admin-token"
JSON = {"Content-Type": "application/json"}


@pytest.fixture(scope="module")
def guarded_app() -> Iterator[Starlette]:
    application = create_app(Settings(seed=9, admin_token=TOKEN, default_scenarios=False))
    yield application
    application.state.sandbox.close()


@pytest.fixture
def guarded(guarded_app: Starlette) -> Iterator[TestClient]:
    with TestClient(guarded_app, base_url="http://127.0.0.1:8080", raise_server_exceptions=False) as client:
        yield client


# -- bodies -----------------------------------------------------------------------------------------
def test_oversized_admin_body_is_refused_while_streaming(live: LiveServer) -> None:
    """A chunked 256 MiB scenario upload: the 413 arrives after about the 1 MiB cap has streamed in."""
    chunk = b"%x\r\n%s\r\n" % (64 * 1024, b"#" * 64 * 1024)
    sent = 0
    with socket.create_connection(("127.0.0.1", live.port), timeout=10) as sock:
        sock.sendall(
            b"POST /__admin/scenarios HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/yaml\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n"
        )
        answer = b""
        while sent < 256 * 1024 * 1024 and not answer:
            try:
                sock.sendall(chunk)
            except OSError:
                break
            sent += 64 * 1024
            if select.select([sock], [], [], 0)[0]:
                answer = sock.recv(65536)
        answer = answer or sock.recv(65536)
    assert answer.startswith(b"HTTP/1.1 413 ")
    assert sent < 8 * 1024 * 1024, f"refused after {sent} bytes, not after reading 256 MiB"


def test_declared_oversized_admin_body_is_refused_before_reading(quiet_client: TestClient) -> None:
    response = quiet_client.post(
        "/__admin/clock", content=b"{}", headers={**JSON, "Content-Length": str(256 * 1024 * 1024)}
    )
    assert response.status_code == 413


@pytest.mark.parametrize(
    ("path", "content_type"),
    [
        ("/__admin/clock", "application/json"),
        ("/__admin/scenarios", "application/json"),
        ("/__admin/scenarios", "application/yaml"),
    ],
)
@pytest.mark.parametrize("depth", [5_000, 100_000])
def test_deeply_nested_json_is_400(
    quiet_client: TestClient, path: str, content_type: str, depth: int
) -> None:
    body = b"[" * depth + b"]" * depth
    response = quiet_client.post(path, content=body, headers={"Content-Type": content_type})
    assert response.status_code == 400, response.text
    assert response.json()["error"]["status"] == 400


# -- clock ------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "body",
    [
        b'{"advance": "nan"}',
        b'{"advance": NaN}',
        b'{"advance": Infinity}',
        b'{"advance": -Infinity}',
        b'{"advance": "infinity"}',
        b'{"advance": 1e308}',
        b'{"advance": true}',
        b'{"set": 1e300}',
        b'{"set": NaN}',
        b'{"freeze": Infinity}',
        b'{"set": "not a date"}',
        b'{"set": -1}',
        b'{"set": [1]}',
        b'{"unfreeze": "yes"}',
        b'{"freeze": null}',
    ],
)
def test_invalid_clock_requests_are_400_and_change_nothing(quiet_client: TestClient, body: bytes) -> None:
    before = quiet_client.get("/__admin/clock").json()
    response = quiet_client.post("/__admin/clock", content=body, headers=JSON)
    assert response.status_code == 400, response.text
    after = quiet_client.get("/__admin/clock").json()
    assert (after["offsetSeconds"], after["frozen"]) == (before["offsetSeconds"], before["frozen"])
    assert quiet_client.get("/qubs/openapi.json").status_code == 200
    assert quiet_client.get("/__admin/requests?limit=1").status_code == 200


def test_unknown_clock_field_leaves_valid_fields_unapplied(quiet_client: TestClient) -> None:
    before = quiet_client.get("/__admin/clock").json()
    response = quiet_client.post("/__admin/clock", json={"advance": 3600, "freeze": True, "bogus": 1})
    assert response.status_code == 400
    after = quiet_client.get("/__admin/clock").json()
    assert after["frozen"] is before["frozen"] is False
    assert after["offsetSeconds"] == before["offsetSeconds"]


def test_valid_clock_request_applies_all_of_it(quiet_client: TestClient) -> None:
    response = quiet_client.post(
        "/__admin/clock", json={"set": "2030-01-01T00:00:00Z", "freeze": True, "advance": 60}
    )
    assert response.status_code == 200
    assert response.json()["now"].startswith("2030-01-01T00:01:00")
    assert quiet_client.post("/__admin/clock", json={"unfreeze": True}).json()["frozen"] is False
    quiet_client.post("/__admin/reset")


# -- cross-site requests ----------------------------------------------------------------------------
@pytest.mark.parametrize("origin", ["http://evil.example", "null", "http://127.0.0.1:9999"])
def test_foreign_origin_is_403(quiet_client: TestClient, origin: str) -> None:
    response = quiet_client.post("/__admin/reset", headers={"Origin": origin})
    assert response.status_code == 403
    assert quiet_client.get("/__admin/requests", headers={"Origin": origin}).status_code == 403


def test_own_origin_is_accepted(quiet_client: TestClient) -> None:
    response = quiet_client.post(
        "/__admin/clock", json={"advance": 0}, headers={"Origin": "http://127.0.0.1:8080"}
    )
    assert response.status_code == 200


@pytest.mark.parametrize(
    "content_type",
    [
        "text/plain",
        "text/plain;charset=UTF-8",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
    ],
)
@pytest.mark.parametrize("path", ["/__admin/reset", "/__admin/clock", "/__admin/scenarios"])
def test_simple_content_type_posts_are_refused(
    quiet_client: TestClient, content_type: str, path: str
) -> None:
    before = quiet_client.get("/__admin/clock").json()["offsetSeconds"]
    response = quiet_client.post(path, content=b'{"advance": 99}', headers={"Content-Type": content_type})
    assert response.status_code == 415
    assert quiet_client.get("/__admin/clock").json()["offsetSeconds"] == before


# -- admin token ------------------------------------------------------------------------------------
def test_without_token_admin_is_401_with_basic_challenge(guarded: TestClient) -> None:
    response = guarded.get("/__admin/requests")
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == 'Basic realm="vendor-sandbox admin"'
    assert response.json()["error"]["status"] == 401
    assert guarded.post("/__admin/reset", headers={"Authorization": "Bearer wrong"}).status_code == 401


def test_health_stays_open_for_probes(guarded: TestClient) -> None:
    assert guarded.get("/__admin/health").status_code == 200


@pytest.mark.parametrize(
    "authorization",
    [
        f"Bearer {TOKEN}",
        "Basic " + base64.b64encode(f"admin:{TOKEN}".encode()).decode(),
        "Basic " + base64.b64encode(f":{TOKEN}".encode()).decode(),
    ],
)
def test_token_as_bearer_or_basic_password(guarded: TestClient, authorization: str) -> None:
    assert guarded.get("/__admin/requests", headers={"Authorization": authorization}).status_code == 200


@pytest.mark.parametrize("authorization", ["Basic \xff\xfe==", "Basic !!!", "Basic " + "w6k=", "Bearer \xff"])
def test_unreadable_credentials_are_401(guarded: TestClient, authorization: str) -> None:
    response = guarded.get("/__admin/requests", headers={"Authorization": authorization.encode("latin-1")})
    assert response.status_code == 401


def test_vendor_routes_need_no_admin_token(guarded: TestClient) -> None:
    assert guarded.get("/qubs/openapi.json").status_code == 200


def test_admin_client_and_live_server_use_the_token() -> None:
    with LiveServer(Settings(admin_token=TOKEN, default_scenarios=False)) as live:
        with pytest.raises(AdminError) as refused:
            AdminClient(live.url).requests()
        assert refused.value.status == 401
        assert AdminClient(live.url, token=TOKEN).clock().frozen is False


# -- stored objects ---------------------------------------------------------------------------------
def test_stored_html_is_served_as_an_inert_attachment(quiet_app: Starlette, quiet_client: TestClient) -> None:
    sandbox = quiet_app.state.sandbox
    writer = BodyWriter()
    writer.write(b"<script>alert(document.cookie)</script>")
    sandbox.storage.objects.put(
        "staging-thundermaps-uploads",
        "x/evil.html",
        writer.finish(),
        content_type="text/html",
        uploaded_at=sandbox.clock.now(),
    )
    response = quiet_client.get("/__admin/objects/staging-thundermaps-uploads/x/evil.html")
    assert response.status_code == 200
    assert response.headers["Content-Disposition"].split(";")[0] == "attachment"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Content-Security-Policy"] == "default-src 'none'; sandbox"
