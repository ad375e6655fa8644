"""The dashboard at /__admin/ driven in a real headless Chromium (Debian's ``chromium`` through Playwright).

Skipped, with the reason, where that browser or the ``playwright`` package is missing. Waiting is done by
Playwright's polling assertions with a timeout, never by fixed sleeps.
"""

from __future__ import annotations

import io
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image

from mock_server.settings import Settings
from mock_server.testing.server import LiveServer

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
LAUNCH_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
RULE = "rules:\n  - match: {operation: qubs.createComment}\n    respond: 503\n"
GOOD = f"name: slow-one\ndescription: d\n{RULE}    times: 5\n"
BROKEN = f"name: broken-one\ndescription: d\n{RULE}    times: 0\n"  # times must be at least 1
QUBS_ATTACH = "/qubs/integrations/v1/acme/reporting/appointments/A123456/report/attachments"
BEARER = {"Authorization": "Bearer qubs-dev-token"}

sync_api = pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed")
if not Path(CHROMIUM).exists():
    pytest.skip("Debian's chromium is not installed (apt-get install chromium)", allow_module_level=True)
expect = sync_api.expect


@pytest.fixture(scope="module")
def scenario_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    file = tmp_path_factory.mktemp("scenarios") / "team.yaml"
    file.write_text(GOOD, encoding="utf-8")
    return file


@pytest.fixture(scope="module")
def server(scenario_file: Path) -> Iterator[LiveServer]:
    with LiveServer(Settings(seed=7, scenarios=(scenario_file,))) as live:
        yield live


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Any, server: LiveServer) -> Iterator[Any]:
    server.sandbox.reset()
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    tab = context.new_page()
    problems: list[str] = []
    # Refusals the page asks for on purpose (a 400 from validation) are logged as failed loads; anything
    # else at error level (a script error, a Content-Security-Policy violation) is a defect.
    tab.on(
        "console",
        lambda message: (
            problems.append(message.text)
            if message.type == "error" and not message.text.startswith("Failed to load resource")
            else None
        ),
    )
    tab.on("pageerror", lambda error: problems.append(str(error)))
    tab.set_default_timeout(5000)
    yield tab
    context.close()
    assert problems == [], problems  # no script errors and no Content-Security-Policy violations


def open_view(page: Any, server: LiveServer, view: str) -> None:
    page.goto(f"{server.url}/__admin/#{view}")
    expect(page.locator(f"#view-{view}")).to_be_visible()


def upload_url(server: LiveServer) -> str:
    response = httpx.post(
        server.url + QUBS_ATTACH,
        headers=BEARER,
        json={"items": [{"fileName": "report.pdf", "contentType": "application/pdf"}]},
    )
    assert response.status_code == 201, response.text
    return response.json()["items"][0]["uploadUrl"]


def test_call_made_outside_the_page_appears_within_two_seconds(page: Any, server: LiveServer) -> None:
    open_view(page, server, "requests")
    expect(page.locator("#request-count")).to_contain_text("shown of")
    token = httpx.post(
        server.url + "/qubs/oauth2/token",
        data={
            "grant_type": "client_credentials",
            "client_id": "qubs-dev-client",
            "client_secret": "qubs-dev-secret",
        },
    )
    assert token.status_code == 200
    row = page.locator("#request-rows tr", has_text="/qubs/oauth2/token")
    expect(row).to_be_visible(timeout=2000)
    row.click()
    detail = page.locator("#request-detail")
    expect(detail).to_contain_text("qubs.createToken")
    expect(detail).to_contain_text("client_secret=%2A%2A%2A")  # the form body is shown, its secret masked
    expect(detail).not_to_contain_text("qubs-dev-secret")


def test_refused_presigned_put_shows_the_canonical_request(page: Any, server: LiveServer) -> None:
    url = upload_url(server)
    refused = httpx.put(url, content=b"%PDF-1.4", headers={"Content-Type": "image/png"})
    assert refused.status_code == 403 and b"SignatureDoesNotMatch" in refused.content
    open_view(page, server, "requests")
    page.locator("#request-rows tr", has_text="/s3/qubs-report-attachments/").first.click()
    canonical = page.locator("#canonical-request")
    expect(canonical).to_contain_text("PUT\n/s3/qubs-report-attachments/acme/A123456/")
    expect(canonical).to_contain_text("content-type:image/png")
    expect(page.locator("#explanation")).to_contain_text("SignatureDoesNotMatch")
    expect(page.locator("#string-to-sign")).to_contain_text("AWS4-HMAC-SHA256")


def test_uploaded_png_previews(page: Any, server: LiveServer) -> None:
    picture = io.BytesIO()
    Image.new("RGB", (40, 30), (200, 30, 30)).save(picture, format="PNG")
    issued = server.sandbox.storage.presign_put(
        server.url, "sandbox-uploads", "photos/red.png", expires_in=900, content_type="image/png"
    )
    stored = httpx.put(issued.url, content=picture.getvalue(), headers={"Content-Type": "image/png"})
    assert stored.status_code == 200, stored.text
    open_view(page, server, "storage")
    page.locator("#object-rows tr", has_text="photos/red.png").click()
    image = page.locator("#preview-image")
    expect(image).to_be_visible()
    page.wait_for_function("() => document.querySelector('#preview-image').naturalWidth === 40")
    preview = httpx.get(f"{server.url}/__admin/preview/sandbox-uploads/photos/red.png")
    assert preview.headers["content-type"] == "image/png"
    assert preview.headers["x-content-type-options"] == "nosniff"
    assert preview.headers["content-security-policy"] == "default-src 'none'; sandbox"


def test_advancing_the_clock_in_the_page_expires_an_upload_url(page: Any, server: LiveServer) -> None:
    url = upload_url(server)  # valid for 900 seconds
    open_view(page, server, "clock")
    page.fill("#clock-amount", "16")
    page.select_option("#clock-unit", "60")
    with page.expect_response(lambda r: r.url.endswith("/__admin/clock") and r.request.method == "POST"):
        page.click("#clock-advance")
    expect(page.locator("#clock-offset")).to_contain_text("960")
    expired = httpx.put(url, content=b"%PDF-1.4", headers={"Content-Type": "application/pdf"})
    assert expired.status_code == 403 and b"Request has expired" in expired.content


def test_broken_scenario_file_shows_its_error(page: Any, server: LiveServer, scenario_file: Path) -> None:
    scenario_file.write_text(BROKEN, encoding="utf-8")  # edited while the server runs
    try:
        open_view(page, server, "scenarios")
        error = page.locator("#scenario-errors .scenario-error")
        expect(error).to_contain_text("team.yaml")
        expect(error).to_contain_text("rules/0/times")
        expect(error).to_contain_text("less than the minimum of 1")
    finally:
        scenario_file.write_text(GOOD, encoding="utf-8")


def test_scenario_text_is_validated_before_it_loads(page: Any, server: LiveServer) -> None:
    open_view(page, server, "scenarios")
    page.fill("#scenario-text", "scenarios:\n  - name: typo\n    rules:\n      - match: {vendor: nobody}\n")
    page.click("#scenario-validate")
    expect(page.locator("#scenario-validation .scenario-error")).to_be_visible()
    assert server.sandbox.scenarios.get("typo") is None
    page.fill(
        "#scenario-text",
        "name: busy\ndescription: d\nrules:\n  - match: {operation: qubs.createToken}\n    respond: 503\n",
    )
    page.click("#scenario-validate")
    expect(page.locator("#scenario-validation")).to_contain_text("Valid: busy")
    page.click("#scenario-load")
    expect(page.locator('.scenario[data-name="busy"]')).to_be_visible()


def test_vendors_view_lists_base_urls_and_a_first_call(page: Any, server: LiveServer) -> None:
    open_view(page, server, "vendors")
    qubs = page.locator('.vendor[data-vendor="qubs"]')
    expect(qubs).to_contain_text(f"{server.url}/qubs")
    expect(qubs).to_contain_text("curl -s -X POST")
    expect(qubs).to_contain_text("A429")  # magic ids


def test_a_loaded_scenario_can_be_edited_in_the_page(page: Any, server: LiveServer) -> None:
    open_view(page, server, "scenarios")
    page.locator('.scenario[data-name="slow-one"] .edit-scenario').click()
    expect(page.locator("#scenario-text")).to_have_value(re.compile('"name": "slow-one"'))
    page.click("#scenario-validate")
    expect(page.locator("#scenario-validation")).to_contain_text("Valid: slow-one")


def test_session_picker_switches_every_view_to_that_session(page: Any, server: LiveServer) -> None:
    created = httpx.post(f"{server.url}/__admin/sessions", json={"name": "picked"})
    assert created.status_code == 201
    try:
        httpx.post(f"{server.url}/~s/picked/__admin/clock", json={"advance": 7200})
        open_view(page, server, "clock")
        picker = page.locator("#session-picker")
        expect(picker).to_be_visible()
        expect(page.locator("#clock-offset")).to_contain_text("sandbox − real: 0 s")
        with page.expect_response(lambda r: "/~s/picked/__admin/clock" in r.url):
            picker.select_option("picked")
        expect(page.locator("#clock-offset")).to_contain_text("7200")
        assert httpx.get(f"{server.url}/__admin/clock").json()["offsetSeconds"] == 0
    finally:
        httpx.delete(f"{server.url}/__admin/sessions/picked")


def test_one_rule_is_switched_off_and_on_in_the_page(page: Any, server: LiveServer) -> None:
    open_view(page, server, "scenarios")
    row = page.locator('.scenario[data-name="slow-one"] tr[data-rule="0"]')
    row.locator(".rule-toggle").click()
    expect(row).to_have_class(re.compile(r"\boff\b"))
    expect(row.locator(".rule-toggle")).to_have_text("Enable")
    assert server.sandbox.scenarios.get("slow-one").disabled == {0}
    comments = f"{server.url}/qubs/integrations/v1/acme/reporting/appointments/A123456/comments"
    assert httpx.post(comments, headers=BEARER).status_code == 400  # the rule's 503 no longer answers
    row.locator(".rule-toggle").click()
    expect(row.locator(".rule-toggle")).to_have_text("Disable")
    assert server.sandbox.scenarios.get("slow-one").disabled == set()
