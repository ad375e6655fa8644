"""Every example in scenarios/: loaded the way users load it, and its story shown end to end over HTTP."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import requests
from starlette.testclient import TestClient

from mock_server.core.sandbox import Sandbox
from mock_server.scenarios.actions import ConnectionDropped
from mock_server.scenarios.engine import ScenarioEngine
from mock_server.testing.admin_client import AdminClient
from mock_server.testing.server import LiveServer

EXAMPLES = Path(__file__).resolve().parents[2] / "scenarios"
BASE = "http://127.0.0.1:8080"
RETRYABLE = {429, 500, 502, 503, 504}
QUBS_ATTACH = "/qubs/integrations/v1/acme/reporting/appointments/{}/report/attachments"
QUBS_AUTH = {"Authorization": "Bearer qubs-dev-token"}
PDF = b"%PDF-1.7\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
Validate = Callable[..., Any]


class Backoff:
    """A client's retry loop: backoff from 0.5 s doubling, Retry-After wins; waits are recorded, not slept."""

    def __init__(self, attempts: int = 5) -> None:
        self.attempts = attempts
        self.waits: list[float] = []

    def run(self, call: Callable[[], Any]) -> Any:
        for attempt in range(self.attempts):
            response = call()
            if response.status_code not in RETRYABLE or attempt == self.attempts - 1:
                return response
            self.waits.append(float(response.headers.get("retry-after") or 0.5 * 2**attempt))
        raise AssertionError("unreachable")


@pytest.fixture
def engine(sandbox: Sandbox) -> ScenarioEngine:
    assert isinstance(sandbox.scenarios, ScenarioEngine)
    return sandbox.scenarios


def load(client: TestClient, name: str) -> None:
    """As a user would: POST the file's text to /__admin/scenarios."""
    path = EXAMPLES / name
    response = client.post(
        "/__admin/scenarios",
        params={"source": str(path)},
        content=path.read_text(encoding="utf-8"),
        headers={"content-type": "application/yaml"},
    )
    assert response.status_code == 201, response.text


def require(sandbox: Sandbox, vendor: str) -> None:
    if vendor not in sandbox.vendors:
        pytest.skip(f"the {vendor} vendor is not part of this build")


def journal(sandbox: Sandbox, operation: str) -> list[tuple[int | None, str | None]]:
    return [(e.status, e.scenarioRule) for e in reversed(sandbox.journal.entries(operation=operation))]


def create_urls(client: TestClient, appointment: str, key: str = "job-1", **headers: str) -> Any:
    return client.post(
        QUBS_ATTACH.format(appointment),
        json={"items": [{"fileName": "report.pdf", "contentType": "application/pdf"}]},
        headers={**QUBS_AUTH, "Idempotency-Key": key, **headers},
    )


def test_every_example_has_a_story_here() -> None:
    tested = {name.removeprefix("test_").replace("_", "-") for name in globals() if name.startswith("test_")}
    for path in EXAMPLES.glob("*.yaml"):
        assert path.stem in tested, f"{path.name} has no test"


def test_qubs_429_then_success(client: TestClient, sandbox: Sandbox, validate_response: Validate) -> None:
    require(sandbox, "qubs")
    load(client, "qubs-429-then-success.yaml")
    backoff = Backoff()
    seen: list[Any] = []

    def attempt() -> Any:
        seen.append(create_urls(client, "A123456"))
        return seen[-1]

    response = backoff.run(attempt)
    assert response.status_code == 201 and backoff.waits == [2.0, 2.0]
    first = seen[0]
    body = validate_response("qubs", "createReportAttachments", first)
    assert (
        body["type"] == "urn:qubs:integrations:too-many-requests"
        and "retry after 2 seconds" in body["detail"]
    )
    assert first.headers["x-ratelimit-remaining"] == "0"
    validate_response("qubs", "createReportAttachments", response)
    assert journal(sandbox, "qubs.createReportAttachments") == [
        (429, "qubs-429-then-success/rate-limited"),
        (429, "qubs-429-then-success/rate-limited"),
        (201, None),
    ]


def test_qubs_429_then_500_then_success(client: TestClient, sandbox: Sandbox) -> None:
    require(sandbox, "qubs")
    load(client, "qubs-429-then-500-then-success.yaml")
    statuses = [create_urls(client, "A123457").status_code for _ in range(4)]
    assert statuses == [429, 500, 201, 201]
    assert client.get("/__admin/scenarios/qubs-429-then-500-then-success").json()["state"] == "recovered"
    assert create_urls(client, "A123456", key="job-2").status_code == 201  # never saw a fault


def test_qubs_idempotency_conflict(client: TestClient, sandbox: Sandbox, validate_response: Validate) -> None:
    require(sandbox, "qubs")
    load(client, "qubs-idempotency-conflict.yaml")
    conflict = create_urls(client, "A123456", key="replayed-with-other-payload")
    assert conflict.status_code == 409
    assert (
        validate_response("qubs", "createReportAttachments", conflict)["type"]
        == "urn:qubs:integrations:conflict"
    )
    assert create_urls(client, "A123456", key="fresh-key").status_code == 201


def test_qubs_appointment_not_pending(
    client: TestClient, sandbox: Sandbox, validate_response: Validate
) -> None:
    require(sandbox, "qubs")
    load(client, "qubs-appointment-not-pending.yaml")
    response = create_urls(client, "A123456")
    body = validate_response("qubs", "createReportAttachments", response)
    assert (response.status_code, body["title"]) == (404, "Appointment Not Pending")
    assert body["detail"] == "Appointment A123456 was not found or is not in PENDING REPORTING status."
    pending = client.get("/qubs/integrations/v1/acme/reporting/appointments/A123456", headers=QUBS_AUTH)
    assert pending.status_code == 404
    assert create_urls(client, "A123457", key="job-2").status_code == 201


def test_qubs_expired_upload_url(client: TestClient, sandbox: Sandbox, clock: Any) -> None:
    require(sandbox, "qubs")
    load(client, "qubs-expired-upload-url.yaml")
    clock.freeze("2026-11-24T10:00:00Z")
    (item,) = create_urls(client, "A123456").json()["items"]
    assert item["uploadUrlExpiresAtUtc"] <= "2026-11-24T10:00:00Z"
    upload = client.put(item["uploadUrl"], content=PDF, headers={"Content-Type": "application/pdf"})
    assert upload.status_code == 403 and "<Code>AccessDenied</Code>" in upload.text
    assert "Request has expired" in upload.text


def test_storage_slowdown_twice(live: LiveServer) -> None:
    AdminClient(live.url).load_scenario(EXAMPLES / "storage-slowdown-twice.yaml")
    url = live.sandbox.storage.presign_put(live.url, "sandbox-uploads", "scans/1.pdf", expires_in=900).url
    backoff = Backoff()
    response = backoff.run(lambda: requests.put(url, data=PDF, timeout=10))
    assert response.status_code == 200 and backoff.waits == [0.5, 1.0]
    assert journal(live.sandbox, "storage.putObject") == [
        (503, "storage-slowdown-twice/slow-down"),
        (503, "storage-slowdown-twice/slow-down"),
        (200, None),
    ]
    assert live.sandbox.storage.objects.read("sandbox-uploads", "scans/1.pdf") == PDF


def test_storage_upload_connection_drop(live: LiveServer) -> None:
    AdminClient(live.url).load_scenario(EXAMPLES / "storage-upload-connection-drop.yaml")
    url = live.sandbox.storage.presign_put(live.url, "sandbox-uploads", "scans/2.pdf", expires_in=900).url
    with pytest.raises(requests.ConnectionError):
        requests.put(url, data=PDF, timeout=10)
    with pytest.raises(requests.exceptions.ChunkedEncodingError):
        requests.put(url, data=PDF, timeout=10)
    assert requests.put(url, data=PDF, timeout=10).status_code == 200
    assert [rule for _, rule in journal(live.sandbox, "storage.putObject")] == [
        "storage-upload-connection-drop/dropped",
        "storage-upload-connection-drop/truncated",
        None,
    ]


def test_chaos_storage_5_percent(client: TestClient, sandbox: Sandbox, engine: ScenarioEngine) -> None:
    load(client, "chaos-storage-5-percent.yaml")
    url = sandbox.storage.presign_put(BASE, "sandbox-uploads", "chaos.bin", expires_in=900).url

    def outcomes() -> list[str]:
        seen = []
        for _ in range(200):
            try:
                seen.append(str(client.put(url, content=b"x").status_code))
            except ConnectionDropped:
                seen.append("drop")
        return seen

    first = outcomes()
    assert 0 < first.count("503") < 30 and 0 < first.count("drop") < 30
    engine.reset_counters()
    assert outcomes() == first  # the same requests fail at the same places


CANDID_V1 = "/candid/api/encounter-attachments/v1"
CANDID_ENCOUNTER = "d5e9c84f-c2b2-4bf4-b4b0-7ffd7a9ffc32"


def test_candid_500_then_success(client: TestClient, sandbox: Sandbox, validate_response: Validate) -> None:
    require(sandbox, "candid")
    load(client, "candid-500-then-success.yaml")

    def upload() -> Any:
        return client.put(
            f"{CANDID_V1}/{CANDID_ENCOUNTER}/v2",
            headers={"Authorization": "Bearer candid-dev-token"},
            data={"attachment_type": "DOCUMENTATION"},
            files={"attachment_file": ("note.pdf", PDF, "application/pdf")},
        )

    failed = upload()
    assert failed.status_code == 500 and failed.json()["errorName"] == "InternalError"
    assert failed.json()["content"]["message"] == "An internal error occurred while storing the attachment."
    succeeded = upload()
    assert succeeded.status_code == 200
    validate_response("candid", "createEncounterAttachmentV2", succeeded)


def test_candid_token_expiry(client: TestClient, sandbox: Sandbox, clock: Any) -> None:
    require(sandbox, "candid")
    load(client, "candid-token-expiry.yaml")
    token = client.post(
        "/candid/api/auth/v2/token",
        json={"client_id": "candid-dev-client", "client_secret": "candid-dev-secret"},
    ).json()
    assert token["expires_in"] == 60
    headers = {"Authorization": f"Bearer {token['access_token']}"}
    assert client.get(f"{CANDID_V1}/{CANDID_ENCOUNTER}", headers=headers).status_code == 200
    clock.advance(61)
    assert client.get(f"{CANDID_V1}/{CANDID_ENCOUNTER}", headers=headers).status_code == 401


DECODA = {"API-KEY": "decoda-dev-key", "TENANT": "demo"}
DECODA_LIST = {"patient_id": "P1001", "tz": "UTC"}  # GET /attachments requires tz


class SleepRecorder:
    def __init__(self) -> None:
        self.calls: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


def test_decoda_latency(client: TestClient, sandbox: Sandbox, engine: ScenarioEngine) -> None:
    require(sandbox, "decoda")
    engine.sleep = recorder = SleepRecorder()
    load(client, "decoda-latency.yaml")
    assert client.get("/decoda/attachments", params=DECODA_LIST, headers=DECODA).status_code == 200
    upload = client.post(
        "/decoda/attachments/bulk",
        headers=DECODA,
        data={"patient_id": "P1001"},
        files={"attachments": ("a.pdf", PDF, "application/pdf")},
    )
    assert upload.status_code == 200
    assert client.get("/decoda/user/patient/P1001", headers=DECODA).status_code == 200
    listed, uploaded, patient = recorder.calls
    assert uploaded == 1.5 and 0.2 <= listed <= 0.8 and 0.2 <= patient <= 0.8
    assert (
        client.get("/__admin/requests", params={"scenario": "decoda-latency/slow-uploads"}).json()["count"]
        == 1
    )


def test_decoda_wrong_tenant(client: TestClient, sandbox: Sandbox) -> None:
    require(sandbox, "decoda")
    load(client, "decoda-wrong-tenant.yaml")
    refused = client.get(
        "/decoda/attachments", params=DECODA_LIST, headers={**DECODA, "TENANT": "other-clinic"}
    )
    assert refused.status_code == 403
    assert refused.json() == {"detail": "API key is not valid for tenant other-clinic"}
    assert client.get("/decoda/attachments", params=DECODA_LIST, headers=DECODA).status_code == 200


SAFERME = {
    "Authorization": "Token token=saferme-dev-token",
    "X-AppId": "com.thundermaps.saferme",
    "X-TeamId": "1234",
    "X-InstallationId": "install-0001",
}


def test_saferme_expired_policy(client: TestClient, sandbox: Sandbox) -> None:
    require(sandbox, "saferme")
    load(client, "saferme-expired-policy.yaml")
    authorization = client.get(
        "/saferme/api/v4/file_attachments/upload_authorization",
        params={"content_type": "image/png"},
        headers=SAFERME,
    ).json()["upload_authorization"]
    posted = client.post(
        authorization["url"].removeprefix(BASE),
        data=authorization["fields"],
        files={"file": ("a.png", b"\x89PNG\r\n", "image/png")},
    )
    assert posted.status_code == 403 and "Policy expired" in posted.text
