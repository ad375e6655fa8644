"""A hundred different uploads at once through each vendor's own upload path lose nothing and mix nothing up.

QUBS: presigned PUT URLs; SaferMe: S3 POST policy forms; Candid: multipart PUT; Decoda: multipart bulk.
Every upload runs on its own connection at the same time as the others; afterwards every stored object's
SHA-256 is the one of the bytes sent for it, and the vendor's own records point at exactly those objects.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import unquote, urlsplit

import requests

from mock_server.testing.server import LiveServer

UPLOADS = 100
QUBS_AUTH = {"Authorization": "Bearer qubs-dev-token"}
QUBS_UPLOADS = "/qubs/integrations/v1/acme/reporting/appointments/A123456/report/attachments"
SAFERME_AUTH = {
    "Authorization": "Token token=saferme-dev-token",
    "X-AppId": "com.thundermaps.saferme",
    "X-TeamId": "1234",
    "X-InstallationId": "install-0001",
}
CANDID_AUTH = {"Authorization": "Bearer candid-dev-token"}
CANDID_ENCOUNTER = "d5e9c84f-c2b2-4bf4-b4b0-7ffd7a9ffc32"
DECODA_AUTH = {"TENANT": "demo", "API-KEY": "decoda-dev-key"}


def _payloads(prefix: bytes) -> list[bytes]:
    """Distinct bodies of distinct sizes (8 KiB + n), each starting with a recognisable header."""
    return [prefix + b"%03d\n" % n + os.urandom(8 * 1024 + n) for n in range(UPLOADS)]


def _at_once(send: Callable[[int], requests.Response]) -> list[requests.Response]:
    with ThreadPoolExecutor(max_workers=UPLOADS) as pool:
        return list(pool.map(send, range(UPLOADS)))


def _stored(live: LiveServer, bucket: str) -> dict[str, str]:
    return {info.key: info.sha256 for info in live.sandbox.storage.objects.list(bucket)}


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_qubs_presigned_puts(live: LiveServer) -> None:
    urls: list[str] = []
    for batch in range(UPLOADS // 20):
        items = [{"fileName": f"storm-{batch}-{n}.pdf", "contentType": "application/pdf"} for n in range(20)]
        created = requests.post(live.url + QUBS_UPLOADS, json={"items": items}, headers=QUBS_AUTH, timeout=60)
        assert created.status_code == 201, created.text
        urls += [item["uploadUrl"] for item in created.json()["items"]]
    payloads = _payloads(b"%PDF-1.4\n")

    responses = _at_once(
        lambda n: requests.put(
            urls[n], data=payloads[n], headers={"Content-Type": "application/pdf"}, timeout=60
        )
    )

    assert [r.status_code for r in responses] == [200] * UPLOADS
    keys = [unquote(urlsplit(url).path).split("/", 3)[3] for url in urls]
    expected = {key: _sha(data) for key, data in zip(keys, payloads, strict=True)}
    stored = _stored(live, "qubs-report-attachments")
    assert {key: stored.get(key) for key in expected} == expected
    listing = requests.get(
        f"{live.url}{QUBS_UPLOADS.rsplit('/report', 1)[0]}/attachments",
        params={"pageSize": 500},  # one page holds them all (the default page is 100)
        headers=QUBS_AUTH,
        timeout=60,
    ).json()["items"]
    mine = [item for item in listing if item["fileName"].startswith("storm-")]
    assert len(mine) == UPLOADS and {item["status"] for item in mine} == {"available"}


def test_saferme_post_policy_uploads(live: LiveServer) -> None:
    def authorize(_: int) -> requests.Response:
        return requests.get(
            f"{live.url}/saferme/api/v4/file_attachments/upload_authorization",
            params={"content_type": "application/pdf"},
            headers=SAFERME_AUTH,
            timeout=60,
        )

    grants = [r.json()["upload_authorization"] for r in _at_once(authorize)]
    payloads = _payloads(b"%PDF-1.4\n")

    def upload(n: int) -> requests.Response:
        fields = {**grants[n]["fields"], "key": grants[n]["key_prefix"] + f"doc-{n}.pdf"}
        return requests.post(
            grants[n]["url"],
            data=fields,
            files={"file": (f"doc-{n}.pdf", payloads[n], "application/pdf")},
            timeout=60,
        )

    responses = _at_once(upload)

    assert [r.status_code for r in responses] == [201] * UPLOADS
    expected = {grant["key_prefix"] + f"doc-{n}.pdf": _sha(payloads[n]) for n, grant in enumerate(grants)}
    assert _stored(live, "staging-thundermaps-uploads") == expected


def test_candid_multipart_uploads(live: LiveServer) -> None:
    payloads = _payloads(b"visit note ")
    url = f"{live.url}/candid/api/encounter-attachments/v1/{CANDID_ENCOUNTER}/v2"

    responses = _at_once(
        lambda n: requests.put(
            url,
            data={"attachment_type": "DOCUMENTATION", "description": f"note {n}"},
            files={"attachment_file": (f"note-{n}.txt", payloads[n], "text/plain")},
            headers=CANDID_AUTH,
            timeout=60,
        )
    )

    assert [r.status_code for r in responses] == [200] * UPLOADS
    ids = [r.json() for r in responses]
    assert len(set(ids)) == UPLOADS
    stored = _stored(live, "candid-encounter-attachments")
    for attachment_id, data in zip(ids, payloads, strict=True):
        (sha,) = [sha for key, sha in stored.items() if f"/{attachment_id}/" in key]
        assert sha == _sha(data)


def test_decoda_bulk_uploads(live: LiveServer) -> None:
    payloads = _payloads(b"%PDF-1.4\n")
    url = f"{live.url}/decoda/attachments/bulk"

    responses = _at_once(
        lambda n: requests.post(
            url,
            data={"patient_id": "P1001", "names": f"visit {n}"},
            files=[("attachments", (f"visit-{n}.pdf", payloads[n], "application/pdf"))],
            headers=DECODA_AUTH,
            timeout=60,
        )
    )

    assert [r.status_code for r in responses] == [200] * UPLOADS, responses[0].text
    created: list[dict[str, Any]] = [r.json()["attachments"][0] for r in responses]
    assert [item["name"] for item in created] == [f"visit {n}" for n in range(UPLOADS)]
    stored = _stored(live, "decoda-attachments")
    expected = {
        item["gcsPath"].removeprefix("gs://decoda-attachments/"): _sha(data)
        for item, data in zip(created, payloads, strict=True)
    }
    assert stored == expected
