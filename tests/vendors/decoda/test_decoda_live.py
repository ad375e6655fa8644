"""Decoda over a real socket with ``requests``: bulk upload, signed downloads, listing, linking, expiry."""

from __future__ import annotations

import io
import xml.etree.ElementTree as ET
from collections.abc import Callable
from typing import Any

import pytest
import requests
from PIL import Image

from mock_server.testing.server import LiveServer

DEMO = {"TENANT": "demo", "API-KEY": "decoda-dev-key"}
OTHER = {"TENANT": "other", "API-KEY": "decoda-other-key"}


def image_bytes(fmt: str, size: tuple[int, int]) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (30, 160, 90)).save(out, format=fmt)
    return out.getvalue()


FILES = [
    ("before.png", image_bytes("PNG", (900, 600)), "image/png"),
    ("after photo.jpg", image_bytes("JPEG", (600, 900)), "image/jpeg"),
    ("consent.pdf", b"%PDF-1.7\n" + bytes(range(256)) * 40, "application/pdf"),
    ("résumé.txt", "Notes: tolerated well — no redness.\n".encode(), "text/plain; charset=utf-8"),
]


def gcs_error(response: requests.Response) -> dict[str, str]:
    assert response.headers["content-type"].startswith("application/xml")
    return {child.tag: child.text or "" for child in ET.fromstring(response.content)}


class LiveDecoda:
    def __init__(self, server: LiveServer, validate: Callable[..., Any]) -> None:
        self.base = f"{server.url}/decoda"
        self.session = requests.Session()
        self.validate = validate

    def bulk(self, headers: dict[str, str] = DEMO, **fields: str) -> requests.Response:
        files = [("attachments", spec) for spec in FILES]
        response = self.session.post(
            f"{self.base}/attachments/bulk",
            headers=headers,
            data={"patient_id": "P1001", **fields},
            files=files,
            timeout=10,
        )
        self.validate("decoda", "uploadAttachmentsBulk", response)
        return response

    def get(self, path: str, operation: str, headers: dict[str, str] = DEMO, **params: str) -> Any:
        if operation == "listAttachments":
            params = {"tz": "UTC", **params}
        response = self.session.get(f"{self.base}{path}", headers=headers, params=params, timeout=10)
        return self.validate("decoda", operation, response)


@pytest.fixture
def decoda(live: LiveServer, validate_response: Callable[..., Any]) -> LiveDecoda:
    return LiveDecoda(live, validate_response)


def test_bulk_upload_download_list_and_link(decoda: LiveDecoda, live: LiveServer) -> None:
    live.sandbox.clock.freeze("2024-03-05T18:00:00Z")
    response = decoda.bulk(names='["Before","After","Consent"]', external_ids="ext-1,ext-2,ext-3,ext-4")
    assert response.status_code == 200
    items = response.json()["attachments"]
    assert [item["originalFilename"] for item in items] == [name for name, _, _ in FILES]
    assert [item["name"] for item in items] == ["Before", "After", "Consent", "résumé.txt"]
    for item, (_, content, content_type) in zip(items, FILES, strict=True):
        download = requests.get(item["signedUrl"], timeout=10)
        assert (download.status_code, download.content) == (200, content)
        assert download.headers["content-type"] == content_type
        assert item["signedUrl"].startswith(f"{live.url}/gcs/decoda-attachments/demo/P1001/{item['id']}/")
    for item in items[:2]:
        thumbnail = requests.get(item["thumbnailSignedUrl"], timeout=10)
        with Image.open(io.BytesIO(thumbnail.content)) as image:
            assert max(image.size) == 256
    assert [item["thumbnailSignedUrl"] for item in items[2:]] == [None, None]

    page = decoda.get("/attachments", "listAttachments", tz="America/New_York")
    assert (page["date"], page["nextDate"]) == ("2024-03-05", None)
    assert [item["id"] for item in page["data"]] == [item["id"] for item in items]

    ids = [item["id"] for item in items]
    linked = decoda.session.post(
        f"{decoda.base}/attachments/link-to-note",
        headers=DEMO,
        timeout=10,
        json={"noteId": "N2001", "attachmentIds": ids},
    )
    assert {item["noteId"] for item in decoda.validate("decoda", "linkAttachmentsToNote", linked)} == {
        "N2001"
    }
    by_note = decoda.get("/attachments", "listAttachments", note_id="N2001")
    assert [item["id"] for item in by_note] == ids
    assert requests.get(by_note[2]["signedUrl"], timeout=10).content == FILES[2][1]


def test_signed_urls_expire_on_the_clock_and_refuse_edits(decoda: LiveDecoda, live: LiveServer) -> None:
    live.sandbox.clock.freeze("2024-03-05T18:00:00.250Z")
    item = decoda.bulk().json()["attachments"][0]
    url = item["signedUrl"]
    assert "X-Goog-Expires=3600" in url and "X-Goog-Algorithm=" in url and "X-Goog-Credential=" in url
    edited = url.replace("before.png", "before.pnG")
    forged = requests.get(edited, timeout=10)
    assert (forged.status_code, gcs_error(forged)["Code"]) == (403, "SignatureDoesNotMatch")
    other_signature = url[:-4] + ("0000" if not url.endswith("0000") else "1111")
    assert requests.get(other_signature, timeout=10).status_code == 403

    live.sandbox.clock.advance(3599)
    assert requests.get(url, timeout=10).content == FILES[0][1]
    live.sandbox.clock.advance(2)
    expired = requests.get(url, timeout=10)
    assert (expired.status_code, gcs_error(expired)["Code"]) == (400, "ExpiredToken")
    assert requests.get(item["thumbnailSignedUrl"], timeout=10).status_code == 400

    fresh = decoda.get("/attachments", "listAttachments")["data"][0]["signedUrl"]
    assert requests.get(fresh, timeout=10).content == FILES[0][1]


def test_tenants_are_isolated_over_the_wire(decoda: LiveDecoda) -> None:
    mine = decoda.bulk().json()["attachments"]
    assert decoda.get("/attachments", "listAttachments", headers=OTHER)["data"] == []
    assert decoda.get("/user/patient/P1001", "getPatient", headers=OTHER) == {"detail": "Patient not found"}
    wrong_key = decoda.bulk(headers={"TENANT": "other", "API-KEY": "decoda-dev-key"})
    assert (wrong_key.status_code, wrong_key.json()) == (401, {"detail": "Invalid API key"})
    theirs = decoda.bulk(headers=OTHER, patient_id="P5001").json()["attachments"]
    assert {item["patient"]["id"] for item in theirs} == {"P5001"}
    assert len(decoda.get("/attachments", "listAttachments")["data"]) == len(mine)


def test_missing_headers_are_fastapi_422_over_the_wire(decoda: LiveDecoda) -> None:
    response = requests.post(f"{decoda.base}/attachments/bulk", timeout=10)
    assert response.status_code == 422
    assert decoda.validate("decoda", "uploadAttachmentsBulk", response) == {
        "detail": [
            {"type": "missing", "loc": ["header", "TENANT"], "msg": "Field required", "input": None},
            {"type": "missing", "loc": ["header", "API-KEY"], "msg": "Field required", "input": None},
            {"type": "missing", "loc": ["body", "patient_id"], "msg": "Field required", "input": None},
        ]
    }
