"""The admin API under ``/__admin`` (WireMock's convention): JSON in, JSON out.

health, reset, clock, the request journal, stored objects, fixtures and vendors. Scenario
management lives in ``admin/scenarios.py``; the index page and the admin API's own OpenAPI document
(``admin/openapi.yaml``, the contract of everything here) in ``admin/index.py``.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import BaseRoute, Route

from mock_server import __version__
from mock_server.admin.index import index, openapi
from mock_server.admin.scenarios import routes as scenario_routes
from mock_server.core import jsontext
from mock_server.core.fixtures import FixtureError
from mock_server.core.sandbox import Sandbox
from mock_server.storage.s3_errors import NoSuchKey


def _sandbox(request: Request) -> Sandbox:
    return request.app.state.sandbox


def admin_error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": {"status": status, "message": message}}, status_code=status)


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
    return JSONResponse({"status": "ok", "version": __version__, "vendors": vendors})


async def reset(request: Request) -> Response:
    try:
        _sandbox(request).reset()
    except FixtureError as exc:
        return admin_error(500, f"reset failed while reloading fixtures: {exc}")
    return JSONResponse({"status": "reset"})


async def get_clock(request: Request) -> Response:
    return JSONResponse(_sandbox(request).clock.state())


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


OBJECT_HEADERS = {
    # Uploaded bytes are untrusted: never let a browser render them (script, HTML) on the admin origin.
    "Content-Disposition": "attachment",
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'; sandbox",
}

JOURNAL_FILTERS = {
    "vendor": "vendor",
    "operation": "operation",
    "method": "method",
    "path": "path",
    "status": "status",
    "correlationId": "correlation_id",
    "scenario": "scenario",
    "limit": "limit",
}


async def list_requests(request: Request) -> Response:
    filters: dict[str, Any] = {}
    for param, name in JOURNAL_FILTERS.items():
        value = request.query_params.get(param)
        if value is not None:
            if name in {"status", "limit"}:
                if not value.isdigit():
                    return admin_error(400, f"{param} must be a number")
                filters[name] = int(value)
            else:
                filters[name] = value
    entries = _sandbox(request).journal.entries(**filters)
    return JSONResponse({"requests": [entry.as_dict() for entry in entries], "count": len(entries)})


async def clear_requests(request: Request) -> Response:
    _sandbox(request).journal.reset()
    return JSONResponse({"status": "cleared"})


async def list_objects(request: Request) -> Response:
    objects = _sandbox(request).storage.objects.list(
        request.query_params.get("bucket"), request.query_params.get("prefix", "")
    )
    return JSONResponse({"objects": [info.as_dict() for info in objects], "count": len(objects)})


async def get_object(request: Request) -> Response:
    store = _sandbox(request).storage.objects
    try:
        info, chunks = store.open(request.path_params["bucket"], request.path_params["key"])
    except NoSuchKey:
        return admin_error(404, "no such object")
    headers = {"ETag": info.etag, "Content-Length": str(info.size), "X-Sha256": info.sha256, **OBJECT_HEADERS}
    return StreamingResponse(chunks, media_type=info.content_type, headers=headers)


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
    Route("/requests", list_requests, methods=["GET"], name="admin:listRequests"),
    Route("/requests", clear_requests, methods=["DELETE"], name="admin:clearRequests"),
    Route("/objects", list_objects, methods=["GET"], name="admin:listObjects"),
    Route("/objects/{bucket}/{key:path}", get_object, methods=["GET"], name="admin:getObject"),
    Route("/fixtures", fixtures, methods=["GET"], name="admin:getFixtures"),
    Route("/vendors", vendors, methods=["GET"], name="admin:listVendors"),
    Route("/openapi.json", openapi, methods=["GET"], name="admin:openapi"),
    *scenario_routes,
]

index_routes: list[BaseRoute] = [Route("/", index, methods=["GET"], name="admin:index")]
