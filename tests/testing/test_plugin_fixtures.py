"""A test module written the way an integrator writes one: only the plugin's fixtures.

Installed (``pip install -e .``, as ``make test`` does), vendor-sandbox's pytest11 entry point loads
the plugin; a checkout run with ``PYTHONPATH=.`` has no entry point, so the module names it then.
"""

from __future__ import annotations

from importlib.metadata import entry_points
from pathlib import Path

import pytest
import requests
import yaml

from mock_server.client import AdminError
from mock_server.testing.plugin import SandboxHandle

if not entry_points(group="pytest11", name="vendor_sandbox"):
    pytest_plugins = ["mock_server.testing.plugin"]

TOKEN = {"Authorization": "Bearer qubs-dev-token"}
ATTACHMENTS = "/integrations/v1/acme/reporting/appointments/A123456/report/attachments"
LISTING = "/integrations/v1/acme/reporting/appointments/A123456/attachments"
SCENARIO = """
scenarios:
  - name: qubs-down
    description: every QUBS call answers 503
    rules:
      - id: down
        match: {vendor: qubs}
        respond: {status: 503}
"""


def create_upload_url(vendor_sandbox: SandboxHandle) -> str:
    response = requests.post(
        vendor_sandbox.base_url("qubs") + ATTACHMENTS,
        headers=TOKEN,
        timeout=10,
        json={"items": [{"fileName": "report.pdf", "contentType": "application/pdf"}]},
    )
    assert response.status_code == 201, response.text
    return response.json()["items"][0]["uploadUrl"]


def upload(url: str, body: bytes) -> requests.Response:
    return requests.put(url, data=body, headers={"Content-Type": "application/pdf"}, timeout=10)


def test_changes_state_everywhere(vendor_sandbox: SandboxHandle) -> None:
    """Leaves a scenario, a moved clock, a stored object and journal entries behind (the next test checks)."""
    assert upload(create_upload_url(vendor_sandbox), b"%PDF-1.7").status_code == 200
    vendor_sandbox.advance(3600)
    vendor_sandbox.load_scenario(SCENARIO)
    assert (
        requests.get(vendor_sandbox.base_url("qubs") + LISTING, headers=TOKEN, timeout=10).status_code == 503
    )


def test_starts_from_a_reset_sandbox(vendor_sandbox: SandboxHandle) -> None:
    assert vendor_sandbox.requests() == []
    assert abs(vendor_sandbox.admin.clock().offset_seconds) < 1
    assert "qubs-down" not in {scenario.name for scenario in vendor_sandbox.admin.scenarios()}
    assert not [o for o in vendor_sandbox.objects("qubs-report-attachments") if o.key.endswith("/report.pdf")]


def test_advance_expires_an_upload_url(vendor_sandbox: SandboxHandle) -> None:
    url = create_upload_url(vendor_sandbox)
    clock = vendor_sandbox.advance(901)
    assert clock.offset_seconds >= 901
    response = upload(url, b"%PDF-1.7")
    assert response.status_code == 403 and "Request has expired" in response.text


def test_freeze_pins_the_clock(vendor_sandbox: SandboxHandle) -> None:
    assert vendor_sandbox.freeze("2026-11-24T10:00:00Z").now.isoformat() == "2026-11-24T10:00:00+00:00"
    assert vendor_sandbox.admin.clock().frozen


@pytest.mark.parametrize("form", ["text", "file", "dict"])
def test_load_scenario_from_text_file_or_dict(
    vendor_sandbox: SandboxHandle, tmp_path: Path, form: str
) -> None:
    source: object = SCENARIO
    if form == "file":
        source = tmp_path / "qubs-down.yaml"
        source.write_text(SCENARIO, encoding="utf-8")
    elif form == "dict":
        source = yaml.safe_load(SCENARIO)
    assert vendor_sandbox.load_scenario(source) == ["qubs-down"]  # type: ignore[arg-type]
    response = requests.get(vendor_sandbox.base_url("qubs") + LISTING, headers=TOKEN, timeout=10)
    assert response.status_code == 503
    [entry] = vendor_sandbox.requests(status=503)
    assert entry.scenario_rule == "qubs-down/down" and entry.operation == "qubs.listReportingAttachments"


def test_invalid_scenario_says_where_and_why(vendor_sandbox: SandboxHandle) -> None:
    with pytest.raises(AdminError) as raised:
        vendor_sandbox.load_scenario("scenarios:\n  - name: broken\n")
    assert raised.value.status == 400
    assert raised.value.body["error"]["file"] == "request body" and raised.value.body["error"]["reason"]


def test_journal_reads_newest_first_without_admin_calls(vendor_sandbox: SandboxHandle) -> None:
    requests.get(
        vendor_sandbox.base_url("qubs") + LISTING, headers={**TOKEN, "X-Correlation-Id": "one"}, timeout=10
    )
    requests.get(vendor_sandbox.url + "/nowhere", headers={"X-Correlation-Id": "two"}, timeout=10)
    assert [entry.correlation_id for entry in vendor_sandbox.requests()] == ["two", "one"]
    assert vendor_sandbox.requests(correlation_id="one")[0].headers["authorization"].startswith("Bearer ***")
    assert any(entry.vendor == "admin" for entry in vendor_sandbox.requests(include_admin=True))
