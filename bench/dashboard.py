"""How the dashboard holds up with a full journal and a full bucket, measured in headless Chromium.

    python bench/dashboard.py                    # 10,000 journal entries, 5,000 objects; prints figures
    python bench/dashboard.py --record           # ... and writes them into bench/RESULTS.md
    python bench/dashboard.py --screenshots      # the views at 1280x800 into docs/screenshots/

The traffic is real: 5,000 presigned PUTs into the embedded S3 and 5,000 vendor GETs, over a socket to
a server on 127.0.0.1. Measured: admin API latency (median and worst of 20 calls) for the listings the
page makes, and in Chromium the time from navigation to the first page of rows, the time to apply a text
filter and to open one entry. Figures are printed, never asserted. Needs Debian's ``chromium`` and the
``playwright`` package (never ``playwright install``).
"""

from __future__ import annotations

import argparse
import io
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from mock_server.settings import Settings  # noqa: E402
from mock_server.testing.server import LiveServer  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
ROWS = "() => document.querySelectorAll('#{table}-rows tr').length {test}"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
RESULTS = ROOT / "bench" / "RESULTS.md"
SHOTS = ROOT / "docs" / "screenshots"
START, END = "<!-- dashboard:start -->", "<!-- dashboard:end -->"
QUBS_ATTACH = "/qubs/integrations/v1/acme/reporting/appointments/A123456/report/attachments"


def fill(server: LiveServer, objects: int, gets: int) -> float:
    """Upload ``objects`` small files and make ``gets`` vendor calls; returns the seconds it took."""
    began = time.perf_counter()
    storage = server.sandbox.storage
    with httpx.Client(base_url=server.url, timeout=30) as client:
        for number in range(objects):
            key = f"bench/{number // 100:03d}/file-{number:05d}.txt"
            issued = storage.presign_put(
                server.url, "sandbox-uploads", key, expires_in=3600, content_type="text/plain"
            )
            client.put(
                issued.url, content=f"object {number}\n".encode(), headers={"Content-Type": "text/plain"}
            )
        for _ in range(gets):
            client.get("/decoda/user/patient/P1001", headers={"API-KEY": "decoda-dev-key", "TENANT": "demo"})
    return time.perf_counter() - began


def api_latency(server: LiveServer) -> dict[str, tuple[float, float]]:
    calls = {
        "GET /__admin/requests?view=summary&limit=200": "/__admin/requests?view=summary&limit=200",
        "GET /__admin/requests?limit=200 (full entries)": "/__admin/requests?limit=200",
        "GET /__admin/requests?text=file-04999&view=summary&limit=200": (
            "/__admin/requests?text=file-04999&view=summary&limit=200"
        ),
        "GET /__admin/requests/count?status=2xx": "/__admin/requests/count?status=2xx",
        "GET /__admin/objects?limit=200": "/__admin/objects?limit=200",
        "GET /__admin/objects?limit=200&offset=4800": "/__admin/objects?limit=200&offset=4800",
    }
    figures = {}
    with httpx.Client(base_url=server.url, timeout=30) as client:
        for label, path in calls.items():
            times = []
            for _ in range(20):
                began = time.perf_counter()
                assert client.get(path).status_code == 200
                times.append((time.perf_counter() - began) * 1000)
            figures[label] = (statistics.median(times), max(times))
    return figures


def browser_figures(server: LiveServer, needle: str) -> dict[str, float]:
    from playwright.sync_api import sync_playwright

    figures: dict[str, float] = {}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        began = time.perf_counter()
        page.goto(server.url + "/__admin/#requests")
        page.wait_for_function(ROWS.format(table="request", test=">= 200"), timeout=30000)
        figures["requests view: navigation to 200 rows shown (ms)"] = (time.perf_counter() - began) * 1000
        began = time.perf_counter()
        page.fill("#filter-text", needle)
        page.wait_for_function(ROWS.format(table="request", test="=== 1"), timeout=30000)
        figures["requests view: text filter applied (ms, includes 250 ms typing debounce)"] = (
            time.perf_counter() - began
        ) * 1000
        began = time.perf_counter()
        page.click("#request-rows tr")
        page.wait_for_selector("#detail-title", timeout=30000)
        figures["requests view: one entry opened (ms)"] = (time.perf_counter() - began) * 1000
        began = time.perf_counter()
        page.goto(server.url + "/__admin/#storage")
        page.wait_for_function(ROWS.format(table="object", test=">= 200"), timeout=30000)
        figures["storage view: navigation to 200 objects shown (ms)"] = (time.perf_counter() - began) * 1000
        began = time.perf_counter()
        page.click("#more-objects")
        page.wait_for_function(ROWS.format(table="object", test=">= 400"), timeout=30000)
        figures["storage view: next 200 objects appended (ms)"] = (time.perf_counter() - began) * 1000
        browser.close()
    return figures


def record(text: str) -> None:
    current = RESULTS.read_text(encoding="utf-8") if RESULTS.exists() else ""
    section = f"{START}\n{text}\n{END}"
    if START in current and END in current:
        head, rest = current.split(START, 1)
        current = head + section + rest.split(END, 1)[1]
    else:
        current = current.rstrip("\n") + "\n\n" + section + "\n"
    RESULTS.write_text(current, encoding="utf-8")


def measure(objects: int, gets: int, write: bool) -> None:
    with LiveServer(Settings(seed=3, journal_size=objects + gets)) as server:
        seconds = fill(server, objects, gets)
        entries = len(server.sandbox.journal)
        api = api_latency(server)
        page = browser_figures(server, f"file-{objects - 1:05d}")
    lines = [
        "## Dashboard with a full journal and a full bucket",
        "",
        f"{entries} journal entries and {objects} objects, made by real requests in {seconds:.1f} s; "
        "one run on the shared 2-core machine (`python bench/dashboard.py`).",
        "",
        "| admin API call | median ms | worst ms |",
        "|---|---|---|",
        *[f"| `{label}` | {median:.1f} | {worst:.1f} |" for label, (median, worst) in api.items()],
        "",
        "| in Chromium 1280x800 | ms |",
        "|---|---|",
        *[f"| {label} | {value:.0f} |" for label, value in page.items()],
        "",
        "The page renders one page of 200 rows at a time (older entries and more objects on demand) and",
        "keeps at most 1,000 request rows in the DOM, so its cost does not grow with the journal.",
    ]
    text = "\n".join(lines)
    print(text)
    if write:
        record(text)


def screenshots() -> None:
    """Each view at 1280x800 with a little traffic in it."""
    from PIL import Image
    from playwright.sync_api import sync_playwright

    SHOTS.mkdir(parents=True, exist_ok=True)
    with LiveServer(Settings(seed=5)) as server, httpx.Client(base_url=server.url, timeout=30) as client:
        bearer = {"Authorization": "Bearer qubs-dev-token"}
        client.post(
            "/qubs/oauth2/token",
            data={
                "grant_type": "client_credentials",
                "client_id": "qubs-dev-client",
                "client_secret": "qubs-dev-secret",
            },
        )
        created = client.post(
            QUBS_ATTACH,
            headers=bearer,
            json={"items": [{"fileName": "report.pdf", "contentType": "application/pdf"}]},
        )
        url = created.json()["items"][0]["uploadUrl"]
        client.put(url, content=b"%PDF-1.4\n", headers={"Content-Type": "application/pdf"})
        client.get("/qubs/integrations/v1/acme/reporting/appointments/A429", headers=bearer)
        client.get("/decoda/user/patient/P1001", headers={"API-KEY": "decoda-dev-key", "TENANT": "demo"})
        client.get("/qubs/integrations/v1/acme/reporting/appointment/A1", headers=bearer)
        picture = io.BytesIO()
        Image.new("RGB", (320, 200), (47, 91, 234)).save(picture, format="PNG")
        issued = server.sandbox.storage.presign_put(
            server.url, "sandbox-uploads", "photos/site.png", expires_in=900, content_type="image/png"
        )
        client.put(issued.url, content=picture.getvalue(), headers={"Content-Type": "image/png"})
        refused = client.post(
            QUBS_ATTACH,
            headers=bearer,
            json={"items": [{"fileName": "scan.pdf", "contentType": "application/pdf"}]},
        )
        client.put(
            refused.json()["items"][0]["uploadUrl"], content=b"x", headers={"Content-Type": "image/png"}
        )
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            page = browser.new_page(viewport={"width": 1280, "height": 800})
            shoot(
                page,
                server,
                "requests",
                lambda: page.locator("#request-rows tr", has_text="/s3/").first.click(),
                "#explanation",
            )
            shoot(
                page,
                server,
                "storage",
                lambda: page.locator("#object-rows tr", has_text="site.png").click(),
                "#preview-image",
            )
            page.goto(server.url + "/__admin/#scenarios")
            page.fill("#scenario-text", "name: typo\nrules:\n  - match: {vendor: qubs}\n    respond: 503\n")
            page.click("#scenario-validate")
            page.wait_for_selector("#scenario-validation .scenario-error")
            page.screenshot(path=str(SHOTS / "scenarios.png"))
            shoot(page, server, "clock", None, "#clock-real:not(:empty)")
            shoot(page, server, "vendors", None, ".vendor")
            browser.close()
    for file in sorted(SHOTS.glob("*.png")):
        # A small palette keeps the committed images small; the page uses few colours.
        Image.open(file).convert("RGB").quantize(colors=64).save(file, optimize=True)
        print(file.relative_to(ROOT), file.stat().st_size, "bytes")


def shoot(page: Any, server: LiveServer, view: str, action: Any, ready: str) -> None:
    page.goto(f"{server.url}/__admin/#{view}")
    page.wait_for_selector(f"#view-{view}:not([hidden])")
    if action is not None:
        action()  # Playwright's click waits for the row to arrive
    page.wait_for_selector(ready)
    page.screenshot(path=str(SHOTS / f"{view}.png"))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--objects", type=int, default=5000)
    parser.add_argument("--gets", type=int, default=5000)
    parser.add_argument("--record", action="store_true", help="write the figures into bench/RESULTS.md")
    parser.add_argument("--screenshots", action="store_true", help="write docs/screenshots/*.png instead")
    options = parser.parse_args()
    if options.screenshots:
        screenshots()
    else:
        measure(options.objects, options.gets, options.record)


if __name__ == "__main__":
    main()
