"""A signed URL serves exactly the object and method it was issued for, end to end through the vendors.

Each vendor hands out its own kind of link (QUBS presigned PUT and GET, Candid and SaferMe presigned GET,
Decoda GCS-style downloads, SaferMe POST policies). Each link is then pointed at another object (another
record's key, another tenant's key) or used with another method; every such request is refused by the
embedded storage and neither object changes.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient

from mock_server.core.sandbox import Sandbox

ACME = {"Authorization": "Bearer qubs-dev-token"}
GLOBEX = {"Authorization": "Bearer qubs-globex-token"}
QUBS = "/qubs/integrations/v1"
DEMO = {"TENANT": "demo", "API-KEY": "decoda-dev-key"}
OTHER = {"TENANT": "other", "API-KEY": "decoda-other-key"}
TEAM_1234 = {
    "Authorization": "Token token=saferme-dev-token",
    "X-AppId": "com.thundermaps.saferme",
    "X-TeamId": "1234",
    "X-InstallationId": "install-0001",
}
TEAM_5678 = {**TEAM_1234, "Authorization": "Token token=saferme-other-team-token", "X-TeamId": "5678"}
CANDID = {"Authorization": "Bearer candid-dev-token"}
CANDID_ENCOUNTER = "d5e9c84f-c2b2-4bf4-b4b0-7ffd7a9ffc32"


@pytest.fixture
def sandbox(quiet_app: Starlette) -> Sandbox:
    quiet_app.state.sandbox.reset()
    return quiet_app.state.sandbox


def objects(sandbox: Sandbox) -> list[tuple[str, str, str]]:
    return sorted((info.bucket, info.key, info.sha256) for info in sandbox.storage.objects.list())


def swap_path(url: str, other: str) -> str:
    """``url`` with the path (and so the object) of ``other``, the signed query left as is."""
    return urlsplit(other).path + "?" + urlsplit(url).query


def refused(response: Any) -> None:
    assert response.status_code in (400, 403, 405), (response.status_code, response.text[:200])
    if response.request.method != "HEAD":  # HEAD answers carry the status and no body
        assert b"<Error>" in response.content


# -- QUBS presigned PUT (upload) and GET (download) ---------------------------------------------------
def _qubs_upload_urls(client: TestClient, headers: dict[str, str], path: str, count: int) -> list[str]:
    items = [{"fileName": f"file-{n}.pdf", "contentType": "application/pdf"} for n in range(count)]
    response = client.post(f"{QUBS}{path}/report/attachments", json={"items": items}, headers=headers)
    return [item["uploadUrl"] for item in response.json()["items"]]


def test_qubs_upload_url_puts_only_its_own_object(sandbox: Sandbox, quiet_client: TestClient) -> None:
    mine, sibling = _qubs_upload_urls(quiet_client, ACME, "/acme/reporting/appointments/A123456", 2)
    (theirs,) = _qubs_upload_urls(quiet_client, GLOBEX, "/globex/reporting/appointments/G200001", 1)
    pdf = {"Content-Type": "application/pdf"}
    before = objects(sandbox)

    for target in (sibling, theirs, mine.replace("/file-0.pdf", "/../file-1.pdf")):
        refused(quiet_client.put(swap_path(mine, target), content=b"%PDF-1.4\nswapped", headers=pdf))
    refused(quiet_client.get(mine))  # a PUT URL does not read
    refused(quiet_client.head(mine))
    refused(quiet_client.delete(mine))
    assert objects(sandbox) == before

    assert quiet_client.put(mine, content=b"%PDF-1.4\nmine", headers=pdf).status_code == 200
    refused(quiet_client.put(mine, content=b"%PDF-1.4\nagain", headers=pdf))  # single use


def test_qubs_download_url_reads_only_its_own_object(sandbox: Sandbox, quiet_client: TestClient) -> None:
    listed = quiet_client.get(f"{QUBS}/acme/appointments/A123456/attachments", headers=ACME).json()
    first, second = (item["url"] for item in listed[:2])
    (globex,) = [
        item["url"]
        for item in quiet_client.get(f"{QUBS}/globex/appointments/G200001/attachments", headers=GLOBEX).json()
    ]
    before = objects(sandbox)
    assert b"Referral letter" in quiet_client.get(first).content

    for target in (second, globex):
        refused(quiet_client.get(swap_path(first, target)))
    refused(quiet_client.put(first, content=b"overwrite", headers={"Content-Type": "application/pdf"}))
    refused(quiet_client.delete(first))
    refused(quiet_client.head(first))  # signed for GET; HEAD needs its own signature, as on S3
    assert objects(sandbox) == before


# -- Decoda GCS-style download links -----------------------------------------------------------------
def _decoda_signed_url(client: TestClient, headers: dict[str, str], patient: str, content: bytes) -> str:
    response = client.post(
        "/decoda/attachments",
        data={"patient_id": patient},
        files={"attachment": ("visit.pdf", content, "application/pdf")},
        headers=headers,
    )
    assert response.status_code == 200, response.text
    return response.json()["signedUrl"]


def test_decoda_download_link_serves_only_its_own_object(sandbox: Sandbox, quiet_client: TestClient) -> None:
    mine = _decoda_signed_url(quiet_client, DEMO, "P1001", b"%PDF-1.4\nmine")
    sibling = _decoda_signed_url(quiet_client, DEMO, "P1002", b"%PDF-1.4\nsibling")
    theirs = _decoda_signed_url(quiet_client, OTHER, "P5001", b"%PDF-1.4\ntheirs")
    before = objects(sandbox)
    assert quiet_client.get(mine).content == b"%PDF-1.4\nmine"

    for target in (sibling, theirs):
        refused(quiet_client.get(swap_path(mine, target)))
    refused(quiet_client.head(mine))
    refused(quiet_client.put(mine, content=b"overwrite"))
    refused(quiet_client.delete(mine))
    # The same signature on the S3 route (a GCS link is not an S3 presigned URL).
    refused(quiet_client.get(mine.replace("/gcs/", "/s3/", 1)))
    assert objects(sandbox) == before


# -- Candid and SaferMe presigned GET links ---------------------------------------------------------------
def test_candid_authed_url_serves_only_its_own_attachment(sandbox: Sandbox, quiet_client: TestClient) -> None:
    for n in range(2):
        quiet_client.put(
            f"/candid/api/encounter-attachments/v1/{CANDID_ENCOUNTER}/v2",
            data={"attachment_type": "DOCUMENTATION"},
            files={"attachment_file": (f"note-{n}.txt", b"note %d\n" % n, "text/plain")},
            headers=CANDID,
        )
    listed = quiet_client.get(
        f"/candid/api/encounter-attachments/v1/{CANDID_ENCOUNTER}", headers=CANDID
    ).json()
    urls = [item["authed_url"] for item in listed]
    before = objects(sandbox)
    for url, other in zip(urls, urls[1:] + urls[:1], strict=True):
        refused(quiet_client.get(swap_path(url, other)))
        refused(quiet_client.put(url, content=b"overwrite", headers={"Content-Type": "text/plain"}))
    assert objects(sandbox) == before


def _saferme_upload(client: TestClient, headers: dict[str, str]) -> tuple[dict[str, Any], str, str]:
    """(upload authorization, stored key, the attachment's original_url)."""
    grant = client.get(
        "/saferme/api/v4/file_attachments/upload_authorization",
        params={"content_type": "application/pdf"},
        headers=headers,
    ).json()["upload_authorization"]
    key = grant["key_prefix"] + "report.pdf"
    assert (
        client.post(
            "/s3/staging-thundermaps-uploads",
            data={**grant["fields"], "key": key},
            files={"file": ("report.pdf", b"%PDF-1.4\n" + key.encode(), "application/pdf")},
        ).status_code
        == 201
    )
    created = client.post(
        "/saferme/api/v4/file_attachments", json={"file_attachment": {"key": key}}, headers=headers
    )
    return grant, key, created.json()["original_url"]


def test_saferme_original_url_serves_only_its_own_file(sandbox: Sandbox, quiet_client: TestClient) -> None:
    _, _, mine = _saferme_upload(quiet_client, TEAM_1234)
    _, _, theirs = _saferme_upload(quiet_client, TEAM_5678)
    before = objects(sandbox)
    refused(quiet_client.get(swap_path(mine, theirs)))
    refused(quiet_client.put(mine, content=b"overwrite", headers={"Content-Type": "application/pdf"}))
    assert objects(sandbox) == before


def test_saferme_upload_policy_writes_only_under_its_own_key(
    sandbox: Sandbox, quiet_client: TestClient
) -> None:
    mine, _, _ = _saferme_upload(quiet_client, TEAM_1234)
    theirs, their_key, _ = _saferme_upload(quiet_client, TEAM_5678)
    before = objects(sandbox)

    def post(fields: dict[str, str]) -> Any:
        return quiet_client.post(
            "/s3/staging-thundermaps-uploads",
            data=fields,
            files={"file": ("evil.pdf", b"%PDF-1.4\nevil", "application/pdf")},
        )

    for key in (their_key, theirs["key"], "async_uploads/elsewhere", "other-prefix/" + mine["key"]):
        refused(post({**mine["fields"], "key": key}))
    refused(post({**mine["fields"], "Content-Type": "text/html"}))
    assert objects(sandbox) == before
