"""What the dashboard reads and changes through the admin API: the journal (filters, paging, count,
bodies, signature explanations), object previews and deletion, scenario validation, the page itself."""

from __future__ import annotations

import html
import re

import pytest
from starlette.testclient import TestClient

from mock_server.core.sandbox import Sandbox

QUBS_ATTACH = "/qubs/integrations/v1/acme/reporting/appointments/A123456/report/attachments"
BEARER = {"Authorization": "Bearer qubs-dev-token"}
SCENARIO = "name: busy\ndescription: d\nrules:\n  - match: {operation: qubs.createToken}\n    respond: 503\n"


def put_object(client: TestClient, sandbox: Sandbox, key: str, body: bytes, content_type: str) -> None:
    issued = sandbox.storage.presign_put(
        "http://127.0.0.1:8080", "sandbox-uploads", key, expires_in=900, content_type=content_type
    )
    response = client.put(issued.url, content=body, headers={"Content-Type": content_type})
    assert response.status_code == 200, response.text


def test_health_is_not_journaled_and_admin_calls_stay_apart(client: TestClient) -> None:
    client.get("/qubs/openapi.json")
    for _ in range(5):
        client.get("/__admin/health")
        client.get("/__admin/clock")
    vendor = client.get("/__admin/requests").json()
    assert [entry["operation"] for entry in vendor["requests"]] == ["qubs.openapi"]
    admin = client.get("/__admin/requests", params={"vendor": "admin"}).json()["requests"]
    assert {entry["operation"] for entry in admin} == {"admin.getClock", "admin.listRequests"}


def test_entries_carry_both_times_bodies_and_the_response(client: TestClient) -> None:
    client.post(
        QUBS_ATTACH, headers=BEARER, json={"items": [{"fileName": "r.pdf", "contentType": "application/pdf"}]}
    )
    (entry,) = client.get("/__admin/requests", params={"operation": "qubs.createReportAttachments"}).json()[
        "requests"
    ]
    assert entry["timestamp"].endswith("Z") and entry["realTime"].endswith("Z")
    assert '"r.pdf"' in entry["requestBody"]["text"]
    assert entry["response"]["body"]["text"].count('"uploadUrl"') == 1
    assert "X-Amz-Signature=" in entry["response"]["body"]["text"]
    assert entry["headers"]["authorization"].startswith("Bearer ***")
    assert client.get(f"/__admin/requests/{entry['id']}").json()["id"] == entry["id"]
    assert client.get("/__admin/requests/999999").status_code == 404


@pytest.mark.parametrize(
    "params",
    [{"colour": "red"}, {"status": "teapot"}, {"limit": "-1"}, {"view": "everything"}, {"since": "x"}],
)
def test_bad_filters_answer_400_listing_the_valid_names(client: TestClient, params: dict[str, str]) -> None:
    for path in ("/__admin/requests", "/__admin/requests/count"):
        if path.endswith("count") and set(params) & {"limit", "view"}:
            continue
        response = client.get(path, params=params)
        assert response.status_code == 400
        assert "vendor" in response.json()["error"]["valid"]


def test_count_paging_and_limit_zero(client: TestClient) -> None:
    for number in range(6):
        client.get(f"/qubs/no-such-thing/{number}")
    assert client.get("/__admin/requests/count", params={"status": "4xx"}).json()["count"] == 6
    page = client.get("/__admin/requests", params={"limit": 2, "offset": 1, "view": "summary"}).json()
    assert [entry["path"] for entry in page["requests"]] == ["/qubs/no-such-thing/4", "/qubs/no-such-thing/3"]
    assert page["total"] == 6 and "headers" not in page["requests"][0]
    assert client.get("/__admin/requests", params={"limit": 0}).json()["requests"] == []


def test_unmatched_request_names_the_nearest_route(client: TestClient) -> None:
    client.get("/qubs/integrations/v1/acme/reporting/appointment/A1")  # 'appointment' misspelt
    (entry,) = client.get("/__admin/requests").json()["requests"]
    assert entry["operation"] is None and "/reporting/appointments/{appointmentId}" in entry["nearestRoute"]


def test_refused_signature_is_explained_in_the_journal(client: TestClient) -> None:
    created = client.post(
        QUBS_ATTACH, headers=BEARER, json={"items": [{"fileName": "r.pdf", "contentType": "application/pdf"}]}
    )
    url = created.json()["items"][0]["uploadUrl"]
    assert client.put(url, content=b"x", headers={"Content-Type": "image/png"}).status_code == 403
    (entry,) = client.get("/__admin/requests", params={"vendor": "storage"}).json()["requests"]
    explanation = entry["explanation"]
    assert explanation["code"] == "SignatureDoesNotMatch"
    assert explanation["canonicalRequest"].startswith("PUT\n/s3/qubs-report-attachments/")
    assert "content-type:image/png" in explanation["canonicalRequest"]
    assert explanation["stringToSign"].startswith("AWS4-HMAC-SHA256\n")
    assert "X-Amz-Signature" in entry["query"] and explanation["signatureProvided"] not in str(entry["query"])


@pytest.mark.parametrize(
    ("content_type", "status", "served_as"),
    [
        ("image/png", 200, "image/png"),
        ("application/pdf", 200, "application/pdf"),
        ("text/plain", 200, "text/plain; charset=utf-8"),
        ("application/json", 200, "text/plain; charset=utf-8"),
        ("text/html", 200, "text/plain; charset=utf-8"),
        ("image/svg+xml", 200, "text/plain; charset=utf-8"),  # SVG can script: shown as its source
        ("application/octet-stream", 415, None),
    ],
)
def test_previews_never_render_html(
    client: TestClient, sandbox: Sandbox, content_type: str, status: int, served_as: str | None
) -> None:
    put_object(client, sandbox, "p/file", b"<script>alert(1)</script>", content_type)
    response = client.get("/__admin/preview/sandbox-uploads/p/file")
    assert response.status_code == status
    if served_as:
        assert response.headers["content-type"] == served_as
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["content-security-policy"] == "default-src 'none'; sandbox"


def test_download_is_an_attachment_and_delete_removes(client: TestClient, sandbox: Sandbox) -> None:
    put_object(client, sandbox, "dir/page.html", b"<h1>hi</h1>", "text/html")
    download = client.get("/__admin/objects/sandbox-uploads/dir/page.html")
    assert download.headers["content-disposition"].startswith("attachment")
    assert download.headers["content-security-policy"] == "default-src 'none'; sandbox"
    listing = client.get("/__admin/objects", params={"limit": 1}).json()
    assert listing["total"] >= 1 and {"name": "sandbox-uploads", "objects": 1} in listing["buckets"]
    assert client.delete("/__admin/objects/sandbox-uploads/dir/page.html").status_code == 200
    assert client.delete("/__admin/objects/sandbox-uploads/dir/page.html").status_code == 404
    assert client.get("/__admin/objects", params={"limit": "x"}).status_code == 400


def test_validate_checks_without_loading(client: TestClient, sandbox: Sandbox) -> None:
    headers = {"Content-Type": "application/yaml"}
    ok = client.post("/__admin/scenarios/validate", content=SCENARIO, headers=headers)
    assert ok.json() == {"valid": True, "scenarios": ["busy"]}
    assert sandbox.scenarios.get("busy") is None
    bad = client.post("/__admin/scenarios/validate", content="name: x\n", headers=headers)
    assert bad.status_code == 400 and {"file", "path", "reason"} <= set(bad.json()["error"])


def test_validate_checks_names_against_the_operation_catalog(client: TestClient) -> None:
    headers = {"Content-Type": "application/yaml"}
    typo = SCENARIO.replace("qubs.createToken", "qubs.createReportAttachment")
    checked = client.post("/__admin/scenarios/validate", content=typo, headers=headers)
    loaded = client.post("/__admin/scenarios", content=typo, headers=headers)
    assert checked.status_code == loaded.status_code == 400
    assert "did you mean qubs.createReportAttachments?" in checked.json()["error"]["reason"]
    assert checked.json()["error"]["problems"] == loaded.json()["error"]["problems"]


def test_the_scenario_example_on_the_page_is_valid(client: TestClient) -> None:
    page = client.get("/__admin/").text
    example = html.unescape(re.search(r'id="scenario-text"[^>]*placeholder="([^"]*)"', page).group(1))  # type: ignore[union-attr]
    checked = client.post(
        "/__admin/scenarios/validate", content=example, headers={"Content-Type": "application/yaml"}
    )
    assert checked.json() == {"valid": True, "scenarios": ["qubs-busy"]}, checked.text


def test_dashboard_page_and_files(client: TestClient) -> None:
    page = client.get("/__admin/")
    policy = page.headers["content-security-policy"]
    assert page.status_code == 200 and "script-src 'self'" in policy and "unsafe-inline" not in policy
    assert "<script" in page.text and "<script>" not in page.text  # external scripts only
    for name, media in (
        ("app.js", "text/javascript"),
        ("views.js", "text/javascript"),
        ("app.css", "text/css"),
    ):
        asset = client.get(f"/__admin/dashboard/{name}")
        assert asset.status_code == 200 and asset.headers["content-type"].startswith(media)
    assert client.get("/__admin/dashboard/../routes.py").status_code == 404
    assert client.get("/__admin/dashboard/secret.py").status_code == 404
    index = client.get("/", headers={"Accept": "text/html"})
    assert 'href="http://127.0.0.1:8080/__admin/"' in index.text


def test_stream_sends_new_entries_as_server_sent_events(client: TestClient) -> None:
    client.get("/qubs/openapi.json")
    client.get("/decoda/openapi.json")
    with client.stream("GET", "/__admin/requests/stream", params={"since": 0, "limit": 2}) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        text = "".join(response.iter_text())
    events = [block for block in text.split("\n\n") if block.startswith("id:")]
    assert [block.split("\n")[0] for block in events] == ["id: 1", "id: 2"]
    assert '"operation": "decoda.openapi"' in events[1]
    assert client.get("/__admin/requests/stream", params={"colour": "red"}).status_code == 400
    assert client.get("/__admin/requests/count").json()["count"] == 2  # the stream is not journaled
