"""A real headless Chromium on another origin uploads through ``fetch``: QUBS upload URL and SaferMe form.

The page is served from ``http://localhost:<port>`` by a tiny server in this test; the sandbox listens
on ``127.0.0.1``, so every request is cross-origin and goes through Chromium's own CORS checks
(preflights included). The sandbox runs with ``stub_cors`` so the page can call the vendor APIs too;
the storage URLs answer with the vendor buckets' S3 CORS rules.

Skipped, with the reason in the test report, where Chromium (``/usr/bin/chromium``) or the
``playwright`` package is missing.
"""

from __future__ import annotations

import shutil
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from mock_server.settings import Settings
from mock_server.testing.server import LiveServer

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SAFERME_HEADERS = {
    "Authorization": "Token token=saferme-dev-token",
    "X-AppId": "com.thundermaps.saferme",
    "X-TeamId": "1234",
    "X-InstallationId": "install-0001",
}

sync_api = pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed")
pytestmark = pytest.mark.skipif(
    shutil.which(CHROMIUM) is None,
    reason=f"Chromium is not installed at {CHROMIUM}: browser CORS test skipped",
)


class _Page(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        body = b"<!doctype html><title>front-end</title><p>integrator front-end</p>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def sandbox_server() -> Iterator[LiveServer]:
    with LiveServer(Settings(seed=7, stub_cors=True)) as server:
        yield server


@pytest.fixture(scope="module")
def page_origin() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Page)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://localhost:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def page(page_origin: str) -> Iterator[Any]:
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            tab = browser.new_page()
            tab.goto(page_origin + "/")
            yield tab
        finally:
            browser.close()


QUBS_FLOW = """
async ([api, body]) => {
  const created = await fetch(api, {method: "POST", body: JSON.stringify({items: [body]}),
    headers: {"Authorization": "Bearer qubs-dev-token", "Content-Type": "application/json"}});
  const item = (await created.json()).items[0];
  const upload = await fetch(item.uploadUrl, {method: "PUT", body: "%PDF-1.7 from the browser",
    headers: {"Content-Type": "application/pdf"}});
  return {created: created.status, status: upload.status, etag: upload.headers.get("ETag"),
          url: item.uploadUrl};
}
"""

SAFERME_FLOW = """
async ([api, headers]) => {
  const authorized = await fetch(api + "/upload_authorization?content_type=image%2Fpng", {headers});
  const grant = (await authorized.json()).upload_authorization;
  const form = new FormData();
  for (const [name, value] of Object.entries(grant.fields)) form.append(name, value);
  form.append("file", new Blob([new Uint8Array([137, 80, 78, 71])], {type: "image/png"}), "picture.png");
  const posted = await fetch(grant.url, {method: "POST", body: form});
  return {authorized: authorized.status, status: posted.status, body: await posted.text(),
          etag: posted.headers.get("ETag"), key: grant.fields.key};
}
"""


def test_browser_puts_to_a_qubs_upload_url(page: Any, sandbox_server: LiveServer) -> None:
    api = f"{sandbox_server.url}/qubs/integrations/v1/acme/reporting/appointments/A123456/report/attachments"
    result = page.evaluate(QUBS_FLOW, [api, {"fileName": "report.pdf", "contentType": "application/pdf"}])
    assert result["created"] == 201 and result["status"] == 200
    assert result["etag"] and result["etag"].startswith('"')  # exposed by the bucket's CORS rule
    key = result["url"].split("/qubs-report-attachments/", 1)[1].split("?", 1)[0]
    stored = sandbox_server.sandbox.storage.objects.read("qubs-report-attachments", key)
    assert stored == b"%PDF-1.7 from the browser"


def test_browser_posts_a_saferme_form(page: Any, sandbox_server: LiveServer) -> None:
    api = f"{sandbox_server.url}/saferme/api/v4/file_attachments"
    result = page.evaluate(SAFERME_FLOW, [api, SAFERME_HEADERS])
    assert result["authorized"] == 200 and result["status"] == 201, result
    assert "<PostResponse>" in result["body"] and result["etag"]
    info = sandbox_server.sandbox.storage.objects.head("staging-thundermaps-uploads", result["key"])
    assert info is not None and info.size == 4


def test_browser_is_refused_where_no_rule_allows_it(page: Any, sandbox_server: LiveServer) -> None:
    # sandbox-uploads has no CORS rule: Chromium's preflight gets S3's 403 and fetch fails.
    error = page.evaluate(
        """async (url) => { try { await fetch(url, {method: "PUT", body: "x",
             headers: {"Content-Type": "text/plain"}}); return "sent"; } catch (e) { return e.name; } }""",
        f"{sandbox_server.url}/s3/sandbox-uploads/blocked.txt",
    )
    assert error == "TypeError"
    assert sandbox_server.sandbox.storage.objects.head("sandbox-uploads", "blocked.txt") is None
