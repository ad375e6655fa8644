"""``mock_server.client.AdminClient`` against a real server: every method, typed results, errors."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import requests

from mock_server.client import (
    AdminClient,
    AdminError,
    ClockState,
    Health,
    RequestEntry,
    StoredObject,
    VendorInfo,
)
from mock_server.testing import admin_client
from mock_server.testing.server import LiveServer

SCENARIO = """
scenarios:
  - name: storage-busy
    description: storage answers 503 once
    rules:
      - id: busy
        match: {operation: storage.putObject}
        times: 1
        respond: {status: 503}
"""


@pytest.fixture
def admin(live: LiveServer) -> AdminClient:
    return AdminClient(live.url)


def put_object(live: LiveServer, key: str, body: bytes) -> requests.Response:
    url = live.sandbox.storage.presign_put(live.url, "sandbox-uploads", key, expires_in=60).url
    return requests.put(url, data=body, headers={"Content-Type": "text/plain"}, timeout=10)


def test_is_the_testing_client_under_its_public_name() -> None:
    assert AdminClient is admin_client.AdminClient


def test_health_and_vendors(admin: AdminClient, live: LiveServer) -> None:
    health = admin.health()
    assert isinstance(health, Health) and health.status == "ok" and "qubs" in health.vendors
    vendors = admin.vendors()
    assert isinstance(vendors["qubs"], VendorInfo)
    assert vendors["qubs"].base_url == live.url + "/qubs"
    assert vendors["qubs"].openapi == live.url + "/qubs/openapi.json"
    assert any("qubs-dev-token" in line for line in vendors["qubs"].credentials)
    assert vendors["storage"].base_urls == (live.url + "/s3", live.url + "/gcs")
    assert "qubs" in admin.fixtures()


def test_clock_moves(admin: AdminClient) -> None:
    frozen = admin.freeze(datetime(2026, 11, 24, 10, 0, tzinfo=UTC))
    assert (
        isinstance(frozen, ClockState)
        and frozen.frozen
        and frozen.now == datetime(2026, 11, 24, 10, 0, tzinfo=UTC)
    )
    assert admin.advance(901).now == datetime(2026, 11, 24, 10, 15, 1, tzinfo=UTC)
    assert admin.set_time("2027-01-01T00:00:00Z").now.year == 2027
    assert admin.clock().frozen and not admin.unfreeze().frozen
    admin.reset()
    assert abs(admin.clock().offset_seconds) < 1 and not admin.clock().frozen


def test_journal_filters_and_clear(admin: AdminClient, live: LiveServer) -> None:
    requests.get(live.url + "/qubs/openapi.json", headers={"X-Correlation-Id": "spec-1"}, timeout=10)
    requests.get(live.url + "/nowhere", timeout=10)
    [entry] = admin.requests(correlation_id="spec-1")
    assert isinstance(entry, RequestEntry)
    assert (entry.method, entry.path, entry.status, entry.vendor, entry.operation) == (
        "GET",
        "/qubs/openapi.json",
        200,
        "qubs",
        "qubs.openapi",
    )
    assert (
        entry.timestamp.tzinfo is not None and entry.duration_ms is not None and entry.raw["id"] == entry.id
    )
    assert [e.path for e in admin.requests(status=404)] == ["/nowhere"]
    assert len(admin.requests(limit=1)) == 1
    admin.clear_requests()
    assert [e for e in admin.requests() if e.vendor != "admin"] == []


def test_journal_count_detail_text_and_admin_buffer(admin: AdminClient, live: LiveServer) -> None:
    requests.get(live.url + "/nowhere/at-all", timeout=10)
    requests.get(live.url + "/qubs/openapi.json", timeout=10)
    assert admin.request_count(status="4xx") == 1 and admin.request_count(text="AT-ALL") == 1
    [missing] = admin.requests(text="at-all")
    full = admin.request(missing.id)
    assert full.real_time is not None and full.response["headers"] and full.nearest_route
    assert admin.requests(limit=0) == [] and len(admin.requests(since=missing.id)) == 1
    assert all(entry.vendor == "admin" for entry in admin.requests(vendor="admin"))
    with pytest.raises(AdminError) as raised:
        admin.requests(status="teapot")
    assert raised.value.status == 400


def test_objects_and_their_bytes(admin: AdminClient, live: LiveServer) -> None:
    assert put_object(live, "client/a b+c.txt", b"hello").status_code == 200
    [stored] = admin.objects(bucket="sandbox-uploads", prefix="client/")
    assert isinstance(stored, StoredObject)
    assert (stored.key, stored.size, stored.content_type) == ("client/a b+c.txt", 5, "text/plain")
    assert admin.object_bytes("sandbox-uploads", "client/a b+c.txt") == b"hello"
    with pytest.raises(AdminError) as raised:
        admin.object_bytes("sandbox-uploads", "client/missing")
    assert raised.value.status == 404 and raised.value.message == "no such object"
    admin.delete_object("sandbox-uploads", "client/a b+c.txt")
    assert admin.objects(bucket="sandbox-uploads", prefix="client/") == []


def test_listings_are_read_page_by_page(
    admin: AdminClient, live: LiveServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(admin_client, "PAGE", 3)  # pages of 3: 11 rows take 4 pages
    for number in range(11):
        requests.get(f"{live.url}/nowhere/{number}", timeout=10)
        assert put_object(live, f"paged/{number:02d}", b"x").status_code == 200
    paths = [e.path for e in admin.requests(path="/nowhere/")]
    assert paths == [f"/nowhere/{number}" for number in reversed(range(11))]
    assert [e.path for e in admin.requests(path="/nowhere/", limit=5, offset=2)] == paths[2:7]
    keys = [o.key for o in admin.objects(prefix="paged/")]
    assert keys == [f"paged/{number:02d}" for number in range(11)]


def test_scenarios_lifecycle(admin: AdminClient, live: LiveServer) -> None:
    assert admin.validate_scenario(SCENARIO) == ["storage-busy"]
    assert "storage-busy" not in {s.name for s in admin.scenarios()}  # validating loads nothing
    with pytest.raises(AdminError) as raised:
        admin.validate_scenario("name: x\n")
    assert raised.value.status == 400
    assert admin.load_scenario(SCENARIO) == ["storage-busy"]
    assert put_object(live, "client/x", b"1").status_code == 503
    assert put_object(live, "client/x", b"1").status_code == 200  # times: 1
    assert admin.scenario("storage-busy").hits == 1
    admin.reset_scenarios()
    assert admin.scenario("storage-busy").hits == 0
    assert admin.enable_scenario("storage-busy", False).enabled is False
    assert put_object(live, "client/y", b"1").status_code == 200
    admin.remove_scenario("storage-busy")
    assert "storage-busy" not in {s.name for s in admin.scenarios()}
    admin.load_scenario(SCENARIO)
    admin.clear_scenarios()
    assert "storage-busy" not in {s.name for s in admin.scenarios()}
    assert "storage.putObject" in admin.operations()


@pytest.mark.parametrize(
    "call, status",
    [
        (lambda admin: admin.set_time("yesterday"), 400),
        (lambda admin: admin.scenario("no-such-scenario"), 404),
        (lambda admin: admin.remove_scenario("no-such-scenario"), 404),
        (lambda admin: admin.load_scenario("scenarios: nope\n"), 400),
    ],
    ids=["bad-clock", "unknown-scenario", "remove-unknown", "invalid-scenario"],
)
def test_errors_carry_status_and_message(admin: AdminClient, call: object, status: int) -> None:
    with pytest.raises(AdminError) as raised:
        call(admin)  # type: ignore[operator]
    assert raised.value.status == status and raised.value.message
    assert raised.value.body["error"]["status"] == status
