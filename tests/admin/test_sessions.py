"""Sessions: the admin API that creates them, selection by prefix and header, bounds and expiry."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient

from mock_server.app import create_app
from mock_server.core.sessions import SessionRegistry
from mock_server.settings import Settings

QUBS = "/qubs/integrations/v1/acme/reporting/appointments"
AUTH = {"Authorization": "Bearer qubs-dev-token"}
CAP = 4096  # bytes; the default fixtures' objects (a few hundred bytes) count too
ITEMS = {"items": [{"fileName": "report.pdf", "contentType": "application/pdf"}]}


@pytest.fixture
def settings() -> Settings:
    return Settings(seed=1234, max_sessions=3, session_max_bytes=CAP)


@pytest.fixture
def app(settings: Settings) -> Iterator[Starlette]:
    application = create_app(settings)
    yield application
    application.state.sessions.close()
    application.state.sandbox.close()


@pytest.fixture
def registry(app: Starlette) -> SessionRegistry:
    return app.state.sessions


def test_create_list_get_delete(client: TestClient) -> None:
    created = client.post("/__admin/sessions", json={"name": "ci-1", "ttlSeconds": 60})
    assert created.status_code == 201
    body = created.json()
    assert body["name"] == "ci-1" and body["baseUrl"] == "http://127.0.0.1:8080/~s/ci-1"
    assert body["expiresAt"].endswith("Z") and body["pathPrefix"] == "/~s/ci-1"
    named = client.post("/__admin/sessions").json()["name"]
    listed = [row["name"] for row in client.get("/__admin/sessions").json()["sessions"]]
    assert listed == ["ci-1", named]
    assert client.get("/__admin/sessions/ci-1").json()["baseUrl"] == body["baseUrl"]
    assert client.delete("/__admin/sessions/ci-1").status_code == 204
    assert client.get("/__admin/sessions/ci-1").status_code == 404
    assert client.delete("/__admin/sessions/ci-1").status_code == 404


@pytest.mark.parametrize(
    ("body", "status", "words"),
    [
        ({"name": "bad name"}, 400, "invalid session name"),
        ({"name": "default"}, 400, "invalid session name"),
        ({"ttlSeconds": 0}, 400, "ttlSeconds"),
        ({"seed": "x"}, 400, "seed"),
        ({"colour": "red"}, 400, "unknown field"),
        ({"fixtures": {"qubs": {"tenants": 7}}}, 400, "invalid fixtures"),
        (
            {"scenarios": [{"scenarios": [{"name": "x", "rules": [{"match": {"operation": "nope.x"}}]}]}]},
            400,
            "",
        ),
    ],
)
def test_bad_requests_are_refused(client: TestClient, body: dict, status: int, words: str) -> None:
    response = client.post("/__admin/sessions", json=body)
    assert response.status_code == status
    assert words in response.json()["error"]["message"]
    assert client.get("/__admin/sessions").json()["sessions"] == []  # nothing half-made is left


def test_name_taken_and_session_cap(client: TestClient) -> None:
    assert client.post("/__admin/sessions", json={"name": "a"}).status_code == 201
    taken = client.post("/__admin/sessions", json={"name": "a"})
    assert taken.status_code == 409 and "already exists" in taken.json()["error"]["message"]
    assert client.post("/__admin/sessions").status_code == 201
    assert client.post("/__admin/sessions").status_code == 201
    full = client.post("/__admin/sessions")
    assert full.status_code == 429 and "max_sessions" in full.json()["error"]["message"]


@pytest.mark.parametrize("path", ["/~s/ghost/__admin/clock", f"/~s/ghost{QUBS}/A123456", "/~s/ghost/s3/b/k"])
def test_unknown_session_is_a_404_naming_it(client: TestClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 404
    assert response.json()["error"]["session"] == "ghost"
    by_header = client.get("/__admin/clock", headers={"X-Sandbox-Session": "ghost"})
    assert by_header.status_code == 404 and "ghost" in by_header.json()["error"]["message"]


def test_header_selects_the_same_session_as_the_prefix(client: TestClient) -> None:
    client.post("/__admin/sessions", json={"name": "h"})
    client.post("/~s/h/__admin/clock", json={"advance": 7200})
    by_header = client.get("/__admin/clock", headers={"X-Sandbox-Session": "h"}).json()
    assert by_header["offsetSeconds"] == 7200
    assert client.get("/__admin/clock").json()["offsetSeconds"] == 0
    assert client.get("/~s/default/__admin/clock").json()["offsetSeconds"] == 0


def test_expired_session_is_gone_with_its_objects(
    client: TestClient, registry: SessionRegistry, monkeypatch: pytest.MonkeyPatch
) -> None:
    client.post("/__admin/sessions", json={"name": "brief", "ttlSeconds": 30})
    objects = registry.sandbox("brief").storage.objects  # type: ignore[union-attr]
    later = registry._now() + 31
    monkeypatch.setattr(registry, "_now", lambda: later)
    response = client.get(f"/~s/brief{QUBS}/A123456", headers=AUTH)
    assert response.status_code == 404 and response.json()["error"]["session"] == "brief"
    assert objects.bucket_names() == []  # its buckets left moto's namespace
    assert client.get("/__admin/sessions").json()["sessions"] == []


def test_sweep_removes_expired_sessions(registry: SessionRegistry, monkeypatch: pytest.MonkeyPatch) -> None:
    from mock_server.core.sessions import SessionSpec

    registry.create(SessionSpec(name="x", ttl_seconds=5))
    registry.create(SessionSpec(name="y"))
    later = registry._now() + 6
    monkeypatch.setattr(registry, "_now", lambda: later)
    assert registry.sweep(force=True) == 1
    assert [session.name for session in registry.list()] == ["y"]


def test_session_storage_cap_is_s3s_entity_too_large(client: TestClient) -> None:
    base = client.post("/__admin/sessions", json={"name": "small"}).json()["baseUrl"]
    url = client.post(f"/~s/small{QUBS}/A123456/report/attachments", json=ITEMS, headers=AUTH).json()
    upload = url["items"][0]["uploadUrl"]
    assert upload.startswith(base + "/s3/")
    stored = sum(row["size"] for row in client.get("/~s/small/__admin/objects").json()["objects"])
    room = CAP - stored
    refused = client.put(upload, content=b"x" * (room + 1), headers={"Content-Type": "application/pdf"})
    assert refused.status_code == 400
    assert "<Code>EntityTooLarge</Code>" in refused.text and "session_max_bytes" in refused.text
    assert client.get("/~s/small/__admin/objects").json()["total"] == len(
        client.get("/__admin/objects").json()["objects"]
    )
    fits = client.put(upload, content=b"x" * room, headers={"Content-Type": "application/pdf"})
    assert fits.status_code == 200


def test_inline_fixtures_replace_a_vendors_defaults(client: TestClient) -> None:
    defaults = client.get("/__admin/fixtures").json()["data"]
    candid = {"candid": defaults["candid"]}
    created = client.post("/__admin/sessions", json={"name": "f", "fixtures": candid, "seed": 5})
    assert created.status_code == 201
    assert client.get("/~s/f/__admin/fixtures").json()["data"] == defaults


def test_generated_base_urls_carry_the_session_prefix(client: TestClient) -> None:
    client.post("/__admin/sessions", json={"name": "urls"})
    vendors = client.get("/~s/urls/__admin/vendors").json()["vendors"]
    base_urls = [url for vendor in vendors for url in vendor["baseUrls"]]
    assert base_urls and all(url.startswith("http://127.0.0.1:8080/~s/urls/") for url in base_urls)
    by_header = client.get("/__admin/vendors", headers={"X-Sandbox-Session": "urls"}).json()["vendors"]
    assert by_header == vendors  # a URL handed out under the header still carries the prefix
