"""One tenant's credentials never read, write or list another tenant's data.

QUBS domains (acme, globex), Decoda tenants (demo, other), SaferMe teams (1234, 5678) and Candid
organizations each get data of their own first; then every endpoint is called with the other side's
credentials, or with the caller's credentials and the other side's ids. Nothing of the other side may be
returned, and nothing of it may change.
"""

from __future__ import annotations

from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient

from mock_server.core.sandbox import Sandbox

ACME = {"Authorization": "Bearer qubs-dev-token"}
GLOBEX = {"Authorization": "Bearer qubs-globex-token"}
QUBS = "/qubs/integrations/v1"
ACME_FIXTURE_GUID = "2b7e1516-28ae-4d2a-a6f7-15880912cf4f"
GLOBEX_FIXTURE_GUID = "3f2504e0-4f89-41d3-9a0c-0305e82c3301"
DEMO = {"TENANT": "demo", "API-KEY": "decoda-dev-key"}
OTHER = {"TENANT": "other", "API-KEY": "decoda-other-key"}
TEAM_1234 = {
    "Authorization": "Token token=saferme-dev-token",
    "X-AppId": "com.thundermaps.saferme",
    "X-TeamId": "1234",
    "X-InstallationId": "install-0001",
}
TEAM_5678 = {**TEAM_1234, "Authorization": "Token token=saferme-other-team-token", "X-TeamId": "5678"}
CANDID_MINE = {"Authorization": "Bearer candid-dev-token"}
CANDID_THEIRS = {"Authorization": "Bearer candid-other-token"}
CANDID_V1 = "/candid/api/encounter-attachments/v1"
MY_ENCOUNTER = "d5e9c84f-c2b2-4bf4-b4b0-7ffd7a9ffc32"
THEIR_ENCOUNTER = "9c8b7a6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d"


@pytest.fixture
def sandbox(quiet_app: Starlette) -> Sandbox:
    quiet_app.state.sandbox.reset()
    return quiet_app.state.sandbox


def objects(sandbox: Sandbox) -> list[tuple[str, str, str]]:
    return sorted((info.bucket, info.key, info.sha256) for info in sandbox.storage.objects.list())


# -- QUBS: a token covers its domains only ------------------------------------------------------------
QUBS_DOMAIN_CALLS = [
    ("GET", "/reporting/appointments/pending", None),
    ("GET", "/reporting/appointments/{appointment}", None),
    ("GET", "/reporting/appointments/{appointment}/attachments", None),
    ("POST", "/reporting/appointments/{appointment}/report/attachments", {"items": [{"fileName": "x.pdf"}]}),
    ("POST", "/reporting/appointments/{appointment}/report", {"reportText": "x", "reportStatus": "final"}),
    ("POST", "/reporting/appointments/{appointment}/comments", {"commentText": "x"}),
    ("GET", "/appointments/{appointment}/attachments", None),
    ("GET", "/appointments/{appointment}/attachments/{guid}", None),
]


@pytest.mark.parametrize(
    ("method", "template", "body"), QUBS_DOMAIN_CALLS, ids=[f"{m} {t}" for m, t, _ in QUBS_DOMAIN_CALLS]
)
@pytest.mark.parametrize(
    ("caller", "domain", "appointment", "guid"),
    [
        pytest.param(ACME, "globex", "G200001", GLOBEX_FIXTURE_GUID, id="acme-token-in-globex"),
        pytest.param(GLOBEX, "acme", "A123456", ACME_FIXTURE_GUID, id="globex-token-in-acme"),
    ],
)
def test_qubs_token_outside_its_domain_is_forbidden(
    sandbox: Sandbox,
    quiet_client: TestClient,
    caller: dict[str, str],
    domain: str,
    appointment: str,
    guid: str,
    method: str,
    template: str,
    body: Any,
) -> None:
    before = (sandbox.store.count(), objects(sandbox))
    path = f"{QUBS}/{domain}" + template.format(appointment=appointment, guid=guid)
    response = quiet_client.request(method, path, json=body, headers=caller)
    assert response.status_code == 403, response.text
    assert response.json()["type"] == "urn:qubs:integrations:forbidden"
    assert (sandbox.store.count(), objects(sandbox)) == before


@pytest.mark.parametrize(
    "path",
    [
        f"{QUBS}/acme/reporting/appointments/G200001",
        f"{QUBS}/acme/reporting/appointments/G200001/attachments",
        f"{QUBS}/acme/appointments/G200001/attachments",
        f"{QUBS}/acme/appointments/A123456/attachments/{GLOBEX_FIXTURE_GUID}",
    ],
)
def test_qubs_other_domains_ids_are_not_found_in_ones_own(
    sandbox: Sandbox, quiet_client: TestClient, path: str
) -> None:
    response = quiet_client.get(path, headers=ACME)
    assert response.status_code == 404, response.text


def test_qubs_listings_hold_only_the_domains_own_records(sandbox: Sandbox, quiet_client: TestClient) -> None:
    created = quiet_client.post(
        f"{QUBS}/globex/reporting/appointments/G200001/report/attachments",
        json={"items": [{"fileName": "globex-only.pdf"}]},
        headers=GLOBEX,
    )
    assert created.status_code == 201
    pending = quiet_client.get(f"{QUBS}/acme/reporting/appointments/pending", headers=ACME).json()["items"]
    assert pending and {item["domain"] for item in pending} == {"acme"}
    listed = quiet_client.get(f"{QUBS}/acme/appointments/A123456/attachments", headers=ACME).json()
    assert "globex-only.pdf" not in {item["fileName"] for item in listed}


def test_qubs_idempotency_keys_are_per_domain(sandbox: Sandbox, quiet_client: TestClient) -> None:
    body = {"items": [{"fileName": "same.pdf"}]}
    mine = quiet_client.post(
        f"{QUBS}/acme/reporting/appointments/A123456/report/attachments",
        json=body,
        headers={**ACME, "Idempotency-Key": "shared-key"},
    )
    theirs = quiet_client.post(
        f"{QUBS}/globex/reporting/appointments/G200001/report/attachments",
        json=body,
        headers={**GLOBEX, "Idempotency-Key": "shared-key"},
    )
    assert (mine.status_code, theirs.status_code) == (201, 201)
    assert "Idempotent-Replayed" not in theirs.headers
    assert "/globex/G200001/" in theirs.json()["items"][0]["uploadUrl"]


def test_qubs_access_token_carries_only_its_clients_domains(
    sandbox: Sandbox, quiet_client: TestClient
) -> None:
    token = quiet_client.post(
        "/qubs/oauth2/token",
        data={
            "grant_type": "client_credentials",
            "client_id": "qubs-dev-client",
            "client_secret": "qubs-dev-secret",
        },
    ).json()["access_token"]
    bearer = {"Authorization": f"Bearer {token}"}
    assert quiet_client.get(f"{QUBS}/acme/reporting/appointments/pending", headers=bearer).status_code == 200
    assert (
        quiet_client.get(f"{QUBS}/globex/reporting/appointments/pending", headers=bearer).status_code == 403
    )


# -- Decoda: everything is per TENANT -----------------------------------------------------------------
def _decoda_upload(client: TestClient, headers: dict[str, str], patient: str) -> Any:
    return client.post(
        "/decoda/attachments",
        data={"patient_id": patient},
        files={"attachment": ("visit.pdf", b"%PDF-1.4\n", "application/pdf")},
        headers=headers,
    )


def test_decoda_key_of_one_tenant_does_not_open_another(sandbox: Sandbox, quiet_client: TestClient) -> None:
    for headers in ({**DEMO, "TENANT": "other"}, {**OTHER, "TENANT": "demo"}):
        assert quiet_client.get("/decoda/user/patient/P1001", headers=headers).status_code == 401
        assert quiet_client.get("/decoda/attachments", headers=headers).status_code == 401


def test_decoda_tenants_never_see_each_others_records(sandbox: Sandbox, quiet_client: TestClient) -> None:
    mine = _decoda_upload(quiet_client, DEMO, "P1001")
    assert mine.status_code == 200
    attachment_id = mine.json()["id"]
    before = objects(sandbox)

    assert quiet_client.get("/decoda/user/patient/P1001", headers=OTHER).status_code == 404
    assert _decoda_upload(quiet_client, OTHER, "P1001").status_code == 404
    linked = quiet_client.post(
        "/decoda/attachments/link-to-note",
        json={"noteId": "N6001", "attachmentIds": [attachment_id]},
        headers=OTHER,
    )
    assert linked.status_code == 404
    listed = quiet_client.get("/decoda/attachments", params={"tz": "UTC"}, headers=OTHER).json()
    assert attachment_id not in str(listed)
    by_note = quiet_client.get("/decoda/attachments", params={"tz": "UTC", "note_id": "N2001"}, headers=OTHER)
    assert by_note.status_code == 200 and by_note.json() == []
    assert objects(sandbox) == before


# -- SaferMe: records are per team ---------------------------------------------------------------------
def _saferme_attachment(client: TestClient, headers: dict[str, str]) -> tuple[str, dict[str, Any]]:
    grant = client.get(
        "/saferme/api/v4/file_attachments/upload_authorization",
        params={"content_type": "application/pdf"},
        headers=headers,
    ).json()["upload_authorization"]
    key = grant["key_prefix"] + "report.pdf"
    uploaded = client.post(
        "/s3/staging-thundermaps-uploads",
        data={**grant["fields"], "key": key},
        files={"file": ("report.pdf", b"%PDF-1.4\n", "application/pdf")},
    )
    assert uploaded.status_code == 201
    created = client.post(
        "/saferme/api/v4/file_attachments", json={"file_attachment": {"key": key}}, headers=headers
    )
    assert created.status_code == 202
    return key, created.json()


def test_saferme_team_header_cannot_pick_a_team_the_token_lacks(
    sandbox: Sandbox, quiet_client: TestClient
) -> None:
    for headers in ({**TEAM_1234, "X-TeamId": "5678"}, {**TEAM_5678, "X-TeamId": "1234"}):
        response = quiet_client.get(
            "/saferme/api/v4/file_attachments/upload_authorization",
            params={"content_type": "application/pdf"},
            headers=headers,
        )
        assert response.status_code == 403
        assert quiet_client.get("/saferme/api/v4/file_attachments/21", headers=headers).status_code == 403


def test_saferme_teams_never_see_each_others_attachments(sandbox: Sandbox, quiet_client: TestClient) -> None:
    key, attachment = _saferme_attachment(quiet_client, TEAM_1234)
    count = sandbox.store.count()

    assert (
        quiet_client.get(
            f"/saferme/api/v4/file_attachments/{attachment['id']}", headers=TEAM_5678
        ).status_code
        == 404
    )
    claimed = quiet_client.post(
        "/saferme/api/v4/file_attachments", json={"file_attachment": {"key": key}}, headers=TEAM_5678
    )
    assert claimed.status_code == 422 and claimed.json()["error_codes"]["key"][0]["error"] == "invalid"
    assert sandbox.store.count() == count
    mine = quiet_client.get(f"/saferme/api/v4/file_attachments/{attachment['id']}", headers=TEAM_1234)
    assert mine.status_code == 202 and mine.json()["id"] == attachment["id"]


# -- Candid: encounters, attachments and charge captures are per organization ---------------------------
def _candid_upload(client: TestClient, headers: dict[str, str], path: str, **fields: str) -> Any:
    return client.request(
        "PUT" if "create-from" not in path else "POST",
        path,
        data={"attachment_type": "DOCUMENTATION", **fields},
        files={"attachment_file": ("note.txt", b"visit note\n", "text/plain")},
        headers=headers,
    )


def test_candid_other_organizations_encounter_is_unauthorized(
    sandbox: Sandbox, quiet_client: TestClient
) -> None:
    before = (sandbox.store.count(), objects(sandbox))
    for headers, encounter in ((CANDID_MINE, THEIR_ENCOUNTER), (CANDID_THEIRS, MY_ENCOUNTER)):
        assert quiet_client.get(f"{CANDID_V1}/{encounter}", headers=headers).status_code == 403
        assert _candid_upload(quiet_client, headers, f"{CANDID_V1}/{encounter}/v2").status_code == 403
        deleted = quiet_client.request(
            "DELETE",
            f"{CANDID_V1}/{encounter}",
            json={"attachment_id": "4ee11757-444d-400b-8c78-d6838c8fabcd"},
            headers=headers,
        )
        assert deleted.status_code in (403, 404)
    assert (sandbox.store.count(), objects(sandbox)) == before


def test_candid_charge_capture_ids_are_per_organization(sandbox: Sandbox, quiet_client: TestClient) -> None:
    path = f"{CANDID_V1}/by-charge-capture-external-id/cc-ext-001"
    mine = quiet_client.get(path, headers=CANDID_MINE).json()
    assert [a["attachment_id"] for a in mine] == ["7c0b2a43-3f1e-4c55-9d7e-2b61f8e0c9a1"]
    assert quiet_client.get(path, headers=CANDID_THEIRS).json() == []

    theirs = _candid_upload(
        quiet_client,
        CANDID_THEIRS,
        f"{CANDID_V1}/create-from-charge-capture-external-id",
        charge_capture_external_id="cc-ext-001",
    )
    assert theirs.status_code == 200
    assert [a["attachment_id"] for a in quiet_client.get(path, headers=CANDID_MINE).json()] == [
        "7c0b2a43-3f1e-4c55-9d7e-2b61f8e0c9a1"
    ]
    deleted = quiet_client.request(
        "DELETE", path, json={"attachment_id": "7c0b2a43-3f1e-4c55-9d7e-2b61f8e0c9a1"}, headers=CANDID_THEIRS
    )
    assert deleted.status_code == 404
    assert len(quiet_client.get(path, headers=CANDID_MINE).json()) == 1
