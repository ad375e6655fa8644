"""The header-size guard in front of the app: a head over ``max_header_bytes`` (or too many lines) is
refused with 400 in the format of the vendor the path belongs to, before any scenario rule or vendor
code sees it, and the refusal is journaled (with S3's CORS headers on storage paths) like any answer."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

BIG = "a" * 9000


@pytest.mark.parametrize(
    ("path", "marker", "vendor"),
    [
        ("/s3/staging-thundermaps-uploads/k", "<Code>RequestHeaderSectionTooLarge</Code>", "storage"),
        ("/qubs/integrations/v1/acme/reporting/appointments/A123456/comments", '"status":400', "qubs"),
        ("/__admin/clock", '"status":400', "admin"),
    ],
)
def test_oversized_head_is_refused_in_the_vendors_format_and_journaled(
    client: TestClient, path: str, marker: str, vendor: str
) -> None:
    response = client.get(path, headers={"X-Big": BIG})
    assert response.status_code == 400
    assert marker in response.text.replace(" ", "")
    assert response.headers["connection"] == "close"
    entries = client.get("/__admin/requests", params={"path": path, "vendor": vendor}).json()["requests"]
    refused = [entry for entry in entries if entry["status"] == 400]
    assert len(refused) == 1
    assert refused[0]["vendor"] == vendor


def test_too_many_header_lines_are_refused(client: TestClient) -> None:
    headers = {f"X-N{n}": "1" for n in range(150)}
    response = client.get("/__admin/health", headers=headers)
    assert response.status_code == 400
    assert "lines" in response.text


def test_refusal_on_storage_carries_cors_headers(client: TestClient) -> None:
    response = client.get(
        "/s3/staging-thundermaps-uploads/k", headers={"X-Big": BIG, "Origin": "http://localhost:3000"}
    )
    assert response.status_code == 400
    assert response.headers.get("access-control-allow-origin") in {"*", "http://localhost:3000"}


def test_no_scenario_rule_answers_an_oversized_head(client: TestClient) -> None:
    document = "name: qubs-down\ndescription: d\nrules:\n  - match: {vendor: qubs}\n    respond: 503\n"
    loaded = client.post("/__admin/scenarios", content=document, headers={"Content-Type": "application/yaml"})
    assert loaded.status_code in (200, 201), loaded.text
    path = "/qubs/integrations/v1/acme/reporting/appointments/A123456/comments"
    assert client.get(path).status_code == 503  # the rule is live
    assert client.get(path, headers={"X-Big": BIG}).status_code == 400
