"""Integration tests for a QUBS report uploader, run against vendor-sandbox.

With vendor-sandbox installed, the ``vendor_sandbox`` fixture is there (pytest11 plugin): a sandbox
started in this process on a free port, reset before each test. ``--vendor-sandbox-url URL`` runs the
same tests against a sandbox that is already running (a docker or CI service container), each test in
a session of its own there, so ``pytest -n auto`` (pytest-xdist) can share one server safely.
"""

from __future__ import annotations

import time
import uuid

import pytest
import requests

# --- the code under test (normally imported from your application) ---------------------------------


class QubsUploader:
    def __init__(self, base_url: str, token: str, domain: str) -> None:
        self.api = f"{base_url}/integrations/v1/{domain}"
        self.headers = {"Authorization": f"Bearer {token}"}

    def upload_report_pdf(self, appointment_id: str, pdf: bytes) -> str:
        """Ask QUBS for an upload URL (retrying once on 429), PUT the file there; return its guid."""
        url = f"{self.api}/reporting/appointments/{appointment_id}/report/attachments"
        headers = {**self.headers, "Idempotency-Key": str(uuid.uuid4())}
        body = {"items": [{"fileName": "report.pdf", "contentType": "application/pdf"}]}
        response = requests.post(url, json=body, headers=headers, timeout=10)
        if response.status_code == 429:
            time.sleep(float(response.headers.get("Retry-After", "1")))
            response = requests.post(url, json=body, headers=headers, timeout=10)
        response.raise_for_status()
        item = response.json()["items"][0]
        self.put_file(item["uploadUrl"], pdf)
        return item["guid"]

    def put_file(self, upload_url: str, pdf: bytes) -> None:
        requests.put(
            upload_url, data=pdf, headers={"Content-Type": "application/pdf"}, timeout=30
        ).raise_for_status()


# --- the tests -------------------------------------------------------------------------------------

PDF = b"%PDF-1.7\n% a tiny report\n"


def uploader(vendor_sandbox) -> QubsUploader:
    return QubsUploader(vendor_sandbox.base_url("qubs"), token="qubs-dev-token", domain="acme")


def test_report_lands_in_storage(vendor_sandbox):
    guid = uploader(vendor_sandbox).upload_report_pdf("A123456", PDF)

    [stored] = vendor_sandbox.objects(bucket="qubs-report-attachments", prefix=f"acme/A123456/{guid}/")
    assert stored.size == len(PDF) and stored.content_type == "application/pdf"
    assert [entry.operation for entry in vendor_sandbox.requests()] == [
        "storage.putObject",
        "qubs.createReportAttachments",
    ]  # the journal, newest first


def test_upload_url_expires_after_15_minutes(vendor_sandbox):
    client = uploader(vendor_sandbox)
    response = requests.post(
        f"{client.api}/reporting/appointments/A123456/report/attachments",
        headers=client.headers,
        json={"items": [{"fileName": "late.pdf", "contentType": "application/pdf"}]},
        timeout=10,
    )
    upload_url = response.json()["items"][0]["uploadUrl"]

    vendor_sandbox.advance(901)  # the sandbox clock, not a sleep

    with pytest.raises(requests.HTTPError) as refused:
        client.put_file(upload_url, PDF)
    assert refused.value.response.status_code == 403
    assert "Request has expired" in refused.value.response.text


def test_rate_limit_is_retried(vendor_sandbox):
    vendor_sandbox.load_scenario("""
scenarios:
  - name: qubs-busy-once
    description: the first request for upload URLs is rate limited
    rules:
      - match: {operation: qubs.createReportAttachments}
        times: 1
        respond: {status: 429}
        headers: {Retry-After: "0"}
""")
    uploader(vendor_sandbox).upload_report_pdf("A123456", PDF)

    attempts = vendor_sandbox.requests(operation="qubs.createReportAttachments")
    assert [entry.status for entry in reversed(attempts)] == [429, 201]
    assert attempts[-1].scenario_rule.startswith("qubs-busy-once/")
