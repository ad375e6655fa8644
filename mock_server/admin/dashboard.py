"""The dashboard at ``/__admin/``: plain HTML, CSS and JavaScript files shipped in the package
(``admin/dashboard/``), no build step, nothing fetched from elsewhere.

The page runs under a Content-Security-Policy without inline scripts or styles; it talks to the admin
API on its own origin, sending every state-changing call as JSON (or YAML for scenario text).
"""

from __future__ import annotations

from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import BaseRoute, Route

from mock_server.core.jsontext import JSONResponse

FILES = Path(__file__).with_name("dashboard")
TYPES = {
    "index.html": "text/html; charset=utf-8",
    "app.js": "text/javascript; charset=utf-8",
    "views.js": "text/javascript; charset=utf-8",
    "app.css": "text/css; charset=utf-8",
}
PAGE_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "frame-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'none'; frame-ancestors 'none'"
)
HEADERS = {
    "Content-Security-Policy": PAGE_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}


def _file(name: str) -> Response:
    return FileResponse(FILES / name, media_type=TYPES[name], headers=HEADERS)


async def page(request: Request) -> Response:
    return _file("index.html")


async def asset(request: Request) -> Response:
    name = request.path_params["name"]
    if name not in TYPES:
        return JSONResponse({"error": {"status": 404, "message": f"no dashboard file {name!r}"}}, 404)
    return _file(name)


routes: list[BaseRoute] = [
    Route("/", page, methods=["GET"], name="admin:dashboard"),
    Route("/dashboard/{name}", asset, methods=["GET"], name="admin:dashboardAsset"),
]
