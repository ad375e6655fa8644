from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from mock_server.app import create_app
from mock_server.core.sandbox import Sandbox
from mock_server.settings import Settings


def test_health(client: TestClient) -> None:
    body = client.get("/__admin/health").json()
    assert body["status"] == "ok" and "version" in body


def test_clock_set_freeze_advance_unfreeze(client: TestClient) -> None:
    frozen = client.post("/__admin/clock", json={"freeze": "2026-11-24T10:00:00Z"}).json()
    assert frozen == {
        "now": "2026-11-24T10:00:00Z",
        "epoch": 1795514400.0,
        "offsetSeconds": frozen["offsetSeconds"],
        "frozen": True,
    }
    assert client.post("/__admin/clock", json={"advance": 901}).json()["now"] == "2026-11-24T10:15:01Z"
    assert client.get("/__admin/clock").json()["now"] == "2026-11-24T10:15:01Z"
    assert client.post("/__admin/clock", json={"unfreeze": True}).json()["frozen"] is False


@pytest.mark.parametrize(
    "body",
    [{"advance": "soon"}, {"set": "yesterday"}, {"warp": 1}, [1]],
    ids=["advance", "set", "unknown", "list"],
)
def test_clock_rejects_bad_requests(client: TestClient, body: object) -> None:
    response = client.post("/__admin/clock", json=body)
    assert response.status_code == 400 and "error" in response.json()


def test_reset_restores_clock_and_journal(client: TestClient, sandbox: Sandbox) -> None:
    client.post("/__admin/clock", json={"advance": 86400})
    client.get("/__admin/clock")
    client.post("/__admin/reset")
    assert abs(sandbox.clock.state()["offsetSeconds"]) == 0  # type: ignore[arg-type]
    journal = client.get("/__admin/requests", params={"vendor": "admin"}).json()
    assert [entry["operation"] for entry in journal["requests"]] == ["admin.reset"]
    assert client.get("/__admin/requests").json()["requests"] == []  # admin calls have their own buffer


def test_journal_records_and_filters(client: TestClient) -> None:
    client.get("/__admin/clock", headers={"X-Correlation-Id": "abc123"})
    client.get("/__admin/health")
    params = {"correlationId": "abc123", "vendor": "admin"}
    entries = client.get("/__admin/requests", params=params).json()["requests"]
    assert len(entries) == 1
    entry = entries[0]
    assert (entry["method"], entry["path"], entry["status"], entry["operation"], entry["vendor"]) == (
        "GET",
        "/__admin/clock",
        200,
        "admin.getClock",
        "admin",
    )
    assert entry["durationMs"] >= 0 and entry["timestamp"].endswith("Z")
    assert client.get("/__admin/requests", params={"status": "x"}).status_code == 400
    assert client.delete("/__admin/requests").status_code == 200


def test_vendors_and_index_list_base_urls(client: TestClient) -> None:
    vendors = {v["name"]: v for v in client.get("/__admin/vendors").json()["vendors"]}
    assert vendors["storage"]["baseUrls"] == ["http://127.0.0.1:8080/s3", "http://127.0.0.1:8080/gcs"]
    index = client.get("/").json()
    assert index["admin"]["health"] == "http://127.0.0.1:8080/__admin/health"


def test_object_download_404(client: TestClient) -> None:
    assert client.get("/__admin/objects/sandbox-uploads/none").status_code == 404


def test_two_apps_share_nothing() -> None:
    first, second = create_app(Settings()), create_app(Settings())
    try:
        a, b = first.state.sandbox, second.state.sandbox
        assert a.storage.objects.account_id != b.storage.objects.account_id
        a.clock.advance(1000)
        assert abs(b.clock.state()["offsetSeconds"]) == 0  # type: ignore[arg-type]
    finally:
        first.state.sandbox.close()
        second.state.sandbox.close()


def test_public_url_setting_wins() -> None:
    app = create_app(Settings(public_url="https://sandbox.example.test/"))
    try:
        with TestClient(app) as client:
            assert client.get("/").json()["admin"]["health"] == "https://sandbox.example.test/__admin/health"
    finally:
        app.state.sandbox.close()


def test_operations_resolve_by_method_too(client: TestClient) -> None:
    """GET and DELETE share a path; each is journaled under its own operation."""
    client.delete("/__admin/requests")
    client.get("/__admin/requests")
    listed = client.get("/__admin/requests", params={"vendor": "admin"}).json()["requests"]
    operations = [entry["operation"] for entry in listed]
    assert operations == ["admin.listRequests", "admin.clearRequests"]
