"""The admin API under ``/__admin`` (WireMock's convention): JSON in, JSON out.

health, reset, clock, fixtures and vendors here; the request journal in ``admin/journal.py``, stored
objects and previews in ``admin/objects.py``, scenario management in ``admin/scenarios.py``, the
dashboard's files in ``admin/dashboard.py``; the index page and the admin API's own OpenAPI document
(``admin/openapi.yaml``, the contract of everything here) in ``admin/index.py``.
"""

from __future__ import annotations

import os
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

from mock_server import __version__
from mock_server.admin.dashboard import routes as dashboard_routes
from mock_server.admin.index import index, openapi
from mock_server.admin.journal import routes as journal_routes
from mock_server.admin.objects import routes as object_routes
from mock_server.admin.scenarios import routes as scenario_routes
from mock_server.admin.sessions import routes as session_routes
from mock_server.core import jsontext
from mock_server.core.clock import iso_ms
from mock_server.core.fixtures import FixtureError
from mock_server.core.jsontext import JSONResponse
from mock_server.core.requests import sandbox_of as _request_sandbox
from mock_server.core.sandbox import Sandbox


def _sandbox(request: Request) -> Sandbox:
    return _request_sandbox(request)


def admin_error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": {"status": status, "message": message}}, status_code=status)


async def http_error(request: Request, exc: Exception) -> Response:
    """Routing misses: JSON under ``/__admin`` (as everything there is), Starlette's plain text elsewhere.

    Vendors render their own misses (their mounts catch them), so only admin and unknown roots get here.
    """
    assert isinstance(exc, HTTPException)
    path = request.url.path
    if path == "/__admin" or path.startswith("/__admin/"):
        if exc.status_code == 405:
            allowed = ", ".join(sorted(filter(None, (exc.headers or {}).get("Allow", "").split(", "))))
            message = f"{request.method} is not allowed on {path} (allowed: {allowed})"
        elif exc.status_code == 404:
            message = f"no admin endpoint {path}; the endpoints are listed at /__admin/openapi.json"
        else:
            message = str(exc.detail)
        response = admin_error(exc.status_code, message)
        response.headers.update(exc.headers or {})
        return response
    if exc.status_code in (204, 304):
        return Response(status_code=exc.status_code, headers=exc.headers)
    return PlainTextResponse(exc.detail, status_code=exc.status_code, headers=exc.headers)


async def _json_body(request: Request) -> dict[str, Any]:
    """The JSON object body (``{}`` when empty); ``AdminGuard`` already bounded its size.

    Raises: ValueError for anything but a JSON object (too deep, not UTF-8 and surrogates included).
    """
    raw = await request.body()
    if not raw.strip():
        return {}
    data = jsontext.loads(raw)
    if not isinstance(data, dict):
        raise ValueError("expected a JSON object")
    return data


async def health(request: Request) -> Response:
    sandbox = _sandbox(request)
    vendors = [name for name in sandbox.vendors if name != "storage"]
    state = "process" if sandbox.shared is None else "redis"
    body = {"status": "ok", "version": __version__, "vendors": vendors, "pid": os.getpid(), "state": state}
    return JSONResponse(body)


async def reset(request: Request) -> Response:
    try:
        _sandbox(request).reset()
    except FixtureError as exc:
        return admin_error(500, f"reset failed while reloading fixtures: {exc}")
    return JSONResponse({"status": "reset"})


async def get_clock(request: Request) -> Response:
    clock = _sandbox(request).clock
    return JSONResponse({**clock.state(), "realNow": iso_ms(clock.real_time())})


async def set_clock(request: Request) -> Response:
    """Body: any of ``{"set": ISO|epoch, "advance": seconds, "freeze": true|ISO, "unfreeze": true}``."""
    clock = _sandbox(request).clock
    try:
        body = await _json_body(request)
        unknown = set(body) - {"set", "advance", "freeze", "unfreeze"}
        if unknown:  # checked before anything moves: a refused request changes nothing
            return admin_error(400, f"unknown clock field(s): {', '.join(sorted(unknown))}")
        if ("freeze" in body and body["freeze"] is None) or not isinstance(body.get("unfreeze", False), bool):
            raise ValueError("freeze is true, false or an instant; unfreeze is true or false")
        clock.update(
            set_to=body.get("set"),
            freeze=body.get("freeze", False),
            advance=body.get("advance"),
            unfreeze=body.get("unfreeze", False),
        )
    except (ValueError, TypeError) as exc:
        return admin_error(400, f"invalid clock request: {exc}")
    return JSONResponse(clock.state())


async def fixtures(request: Request) -> Response:
    sandbox = _sandbox(request)
    return JSONResponse(
        {"files": [str(path) for path in sandbox.settings.fixtures], "data": sandbox.fixtures}
    )


async def vendors(request: Request) -> Response:
    sandbox = _sandbox(request)
    base = sandbox.base_url(request)
    listed = []
    for vendor in sandbox.vendors.values():
        listed.append(
            {
                "name": vendor.name,
                "title": vendor.title,
                "baseUrls": [base + prefix for prefix in vendor.mount_table()],
                "openapi": f"{base}{vendor.prefix}/openapi.json" if vendor.openapi_path else None,
                "credentials": list(vendor.credentials),
            }
        )
    return JSONResponse({"vendors": listed})


routes: list[BaseRoute] = [
    Route("/health", health, methods=["GET", "HEAD"], name="admin:health"),
    Route("/reset", reset, methods=["POST"], name="admin:reset"),
    Route("/clock", get_clock, methods=["GET"], name="admin:getClock"),
    Route("/clock", set_clock, methods=["POST"], name="admin:setClock"),
    Route("/fixtures", fixtures, methods=["GET"], name="admin:getFixtures"),
    Route("/vendors", vendors, methods=["GET"], name="admin:listVendors"),
    Route("/openapi.json", openapi, methods=["GET"], name="admin:openapi"),
    *scenario_routes,
    *session_routes,
    *journal_routes,
    *object_routes,
    *dashboard_routes,
]

index_routes: list[BaseRoute] = [Route("/", index, methods=["GET"], name="admin:index")]
