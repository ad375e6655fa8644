"""``/__admin/requests``: the request journal (list, count, one entry, clear).

Filters (query parameters): vendor, operation, method, path (prefix), status (``404`` or ``4xx``),
correlationId, scenario, text (substring), since (entries after this id); paging: ``limit`` (default
100, at most 1000: a larger value reads as 1000; ``0`` = none), ``offset``; ``view=summary`` leaves out
headers and bodies. ``vendor=admin`` reads the
separate buffer of admin calls. An unknown parameter or a bad value answers 400 with ``valid``.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import BaseRoute, Route

from mock_server.core.journal import FILTERS, FilterError, Journal
from mock_server.core.jsontext import JSONResponse
from mock_server.core.requests import sandbox_of as _request_sandbox

PAGING = ("limit", "offset", "view")
MAX_LIMIT = 10_000
DEFAULT_PAGE = 100  # a journal listing without ``limit`` answers this many entries (newest first)
MAX_PAGE = 1000  # and never more than this many in one answer (``total`` says how many match)
STREAM_POLL = 0.5  # seconds between looks at the journal
STREAM_ROUNDS = 120  # then the stream ends; EventSource reconnects with Last-Event-ID


def _journal(request: Request) -> Journal:
    return _request_sandbox(request).journal


def _bad(message: str, valid: list[str]) -> JSONResponse:
    return JSONResponse({"error": {"status": 400, "message": message, "valid": valid}}, status_code=400)


def _number(params: Any, name: str, default: int | None) -> int | None:
    value = params.get(name)
    if value is None:
        return default
    if not value.isdigit() or int(value) > MAX_LIMIT * 100:
        raise FilterError(f"{name} must be a whole number, not {value!r}")
    return int(value)


def _parse(request: Request, paging: bool) -> tuple[dict[str, str], dict[str, Any]]:
    """(filters, paging options); FilterError for an unknown name or a bad value."""
    allowed = set(FILTERS) | (set(PAGING) if paging else set())
    params = request.query_params
    unknown = sorted(set(params.keys()) - allowed)
    if unknown:
        raise FilterError(f"unknown parameter(s): {', '.join(unknown)}")
    filters = {name: params[name] for name in FILTERS if name in params}
    options: dict[str, Any] = {}
    if paging:
        options["limit"] = _number(params, "limit", None)
        options["offset"] = _number(params, "offset", 0)
        view = params.get("view", "full")
        if view not in ("full", "summary"):
            raise FilterError(f"view must be full or summary, not {view!r}")
        options["view"] = view
    return filters, options


async def list_requests(request: Request) -> Response:
    journal = _journal(request)
    try:
        filters, options = _parse(request, paging=True)
        view, limit = options.pop("view"), options.pop("limit")
        limit = DEFAULT_PAGE if limit is None else min(limit, MAX_PAGE)
        entries = journal.entries(**filters, **options, limit=limit)
        total = journal.count(**filters)
    except FilterError as exc:
        return _bad(str(exc), [*FILTERS, *PAGING])
    rows = [entry.summary() if view == "summary" else entry.as_dict() for entry in entries]
    return JSONResponse({"requests": rows, "count": len(rows), "total": total, "lastId": journal.last_id})


async def count_requests(request: Request) -> Response:
    journal = _journal(request)
    try:
        filters, _ = _parse(request, paging=False)
        total = journal.count(**filters)
    except FilterError as exc:
        return _bad(str(exc), list(FILTERS))
    return JSONResponse({"count": total, "lastId": journal.last_id})


async def get_request(request: Request) -> Response:
    raw = request.path_params["id"]
    entry = _journal(request).get(int(raw)) if raw.isdigit() else None
    if entry is None:
        message = f"no journal entry {raw!r} (it may have been pushed out of the buffer)"
        return JSONResponse({"error": {"status": 404, "message": message}}, status_code=404)
    return JSONResponse(entry.as_dict())


async def _events(
    request: Request, journal: Journal, filters: dict[str, str], since: int, limit: int | None
) -> AsyncIterator[str]:
    """Server-sent events: one ``request`` event (a summary, ``id`` = entry id) per new matching entry."""
    sent = 0
    for round_number in range(STREAM_ROUNDS):
        for entry in reversed(journal.entries(**filters, since=str(since))):
            since = max(since, entry.id)
            yield f"id: {entry.id}\nevent: request\ndata: {json.dumps(entry.summary())}\n\n"
            sent += 1
            if limit is not None and sent >= limit:
                return
        if round_number % 30 == 0:
            yield ": keep-alive\n\n"
        if await request.is_disconnected():
            return
        await asyncio.sleep(STREAM_POLL)


async def stream_requests(request: Request) -> Response:
    """``text/event-stream`` of new entries (same filters; ``since`` or ``Last-Event-ID`` to resume;
    ``limit`` ends the stream after that many events). Each stream lasts about a minute."""
    journal = _journal(request)
    try:
        filters, options = _parse(request, paging=True)
        resume = filters.pop("since", None) or request.headers.get("last-event-id", "")
        since = int(resume) if resume.isdigit() else journal.last_id
    except FilterError as exc:
        return _bad(str(exc), [*FILTERS, *PAGING])
    events: AsyncIterator[str] = _events(request, journal, filters, since, options["limit"])
    headers = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}
    return StreamingResponse(events, media_type="text/event-stream", headers=headers)


async def clear_requests(request: Request) -> Response:
    _journal(request).reset()
    return JSONResponse({"status": "cleared"})


routes: list[BaseRoute] = [
    Route("/requests", list_requests, methods=["GET"], name="admin:listRequests"),
    Route("/requests", clear_requests, methods=["DELETE"], name="admin:clearRequests"),
    Route("/requests/count", count_requests, methods=["GET"], name="admin:countRequests"),
    Route("/requests/stream", stream_requests, methods=["GET"], name="admin:streamRequests"),
    Route("/requests/{id}", get_request, methods=["GET"], name="admin:getRequest"),
]
