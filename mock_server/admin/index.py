"""``/``: what this server offers (vendors, their OpenAPI documents, the admin API), and
``/__admin/openapi.json``: the admin API's own contract (``admin/openapi.yaml``).

``/`` answers a small HTML page to browsers (``Accept: text/html``) and JSON to everything else.
"""

from __future__ import annotations

from html import escape
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from mock_server import __version__
from mock_server.core.jsontext import JSONResponse
from mock_server.core.openapi import OpenApiDocument
from mock_server.core.requests import sandbox_of as _request_sandbox
from mock_server.core.sandbox import Sandbox

OPENAPI_PATH = Path(__file__).with_name("openapi.yaml")
DOCUMENT = OpenApiDocument(OPENAPI_PATH)

# (method, path, what) for the page; GET rows become links.
ADMIN_ENDPOINTS = (
    ("GET", "/__admin/", "dashboard: requests, storage, scenarios, clock, vendors"),
    ("GET", "/__admin/health", "health check"),
    ("POST", "/__admin/reset", "back to start-up state"),
    ("GET", "/__admin/clock", "sandbox clock (POST to advance, set, freeze)"),
    ("GET", "/__admin/requests", "request journal, newest first (DELETE to clear)"),
    ("GET", "/__admin/objects", "objects in the embedded S3"),
    ("GET", "/__admin/fixtures", "loaded fixture data"),
    ("GET", "/__admin/vendors", "vendors, base URLs, OpenAPI documents, credentials"),
    ("GET", "/__admin/scenarios", "scenarios (POST YAML to add)"),
    ("GET", "/__admin/operations", "operation names scenario rules can match"),
    ("GET", "/__admin/openapi.json", "this admin API's OpenAPI document"),
)
ADMIN_LINKS = (
    "health",
    "reset",
    "clock",
    "requests",
    "objects",
    "fixtures",
    "vendors",
    "scenarios",
    "operations",
)


def prefers_html(accept: str) -> bool:
    """True when the client ranks text/html above JSON (browsers do; curl and SDKs do not; a tie is JSON).

    Negotiation is werkzeug's ``MIMEAccept`` (q-values, wildcards, malformed q as 0); werkzeug is
    loaded with the first such request, not at start-up.
    """
    from werkzeug.datastructures import MIMEAccept
    from werkzeug.http import parse_accept_header

    return (
        parse_accept_header(accept, MIMEAccept).best_match(["application/json", "text/html"]) == "text/html"
    )


def summary(sandbox: Sandbox, base: str) -> dict[str, Any]:
    return {
        "name": "vendor-sandbox",
        "version": __version__,
        "admin": {
            **{name: f"{base}/__admin/{name}" for name in ADMIN_LINKS},
            "openapi": f"{base}/__admin/openapi.json",
        },
        "vendors": {
            name: {
                "title": vendor.title,
                "baseUrl": base + vendor.prefix,
                "openapi": f"{base}{vendor.prefix}/openapi.json" if vendor.openapi_path else None,
            }
            for name, vendor in sandbox.vendors.items()
            if name != "storage"
        },
        "storage": {prefix: base + prefix for prefix in sandbox.vendors["storage"].mount_table()}
        if "storage" in sandbox.vendors
        else {},
    }


def _link(url: str, text: str | None = None) -> str:
    return f'<a href="{escape(url)}">{escape(text or url)}</a>'


def render_page(sandbox: Sandbox, info: dict[str, Any], base: str) -> str:
    vendor_rows = []
    for name, vendor in info["vendors"].items():
        spec = _link(vendor["openapi"], "openapi.json") if vendor["openapi"] else ""
        credentials = "<br>".join(escape(line) for line in sandbox.vendors[name].credentials)
        vendor_rows.append(
            f"<tr><td><b>{escape(name)}</b><br>{escape(vendor['title'])}</td>"
            f"<td><code>{escape(vendor['baseUrl'])}</code></td><td>{spec}</td>"
            f"<td>{credentials}</td></tr>"
        )
    admin_rows = [
        f"<tr><td>{method}</td><td>{_link(base + path, path) if method == 'GET' else escape(path)}</td>"
        f"<td>{escape(what)}</td></tr>"
        for method, path, what in ADMIN_ENDPOINTS
    ]
    storage = ", ".join(f"<code>{escape(url)}</code>" for url in info["storage"].values())
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>vendor-sandbox {escape(__version__)}</title>
<style>body{{font-family:system-ui,sans-serif;margin:2rem;max-width:70rem}}table{{border-collapse:collapse}}
td,th{{border-bottom:1px solid #ddd;padding:.35rem .6rem;text-align:left;vertical-align:top}}</style></head>
<body><h1>vendor-sandbox {escape(__version__)}</h1>
<p>Offline emulation of healthcare vendors' attachment APIs. JSON version of this page: send
<code>Accept: application/json</code>.</p>
<p><b>{_link(base + "/__admin/", "Open the dashboard")}</b>: requests, stored objects, scenarios,
clock and vendors in the browser.</p>
<h2>Vendors</h2>
<table><tr><th>vendor</th><th>base URL</th><th>OpenAPI</th><th>default credentials</th></tr>
{"".join(vendor_rows)}</table>
<p>Embedded S3 and signed downloads: {storage}</p>
<h2>Admin API</h2>
<table><tr><th>method</th><th>path</th><th>what</th></tr>
{"".join(admin_rows)}</table>
</body></html>
"""


async def index(request: Request) -> Response:
    sandbox: Sandbox = _request_sandbox(request)
    base = sandbox.base_url(request)
    info = summary(sandbox, base)
    headers = {"Vary": "Accept"}
    if prefers_html(request.headers.get("accept", "")):
        return HTMLResponse(render_page(sandbox, info, base), headers=headers)
    return JSONResponse(info, headers=headers)


async def openapi(request: Request) -> Response:
    return Response(DOCUMENT.json_bytes, media_type="application/json")
