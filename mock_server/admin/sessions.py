"""Sessions in the admin API: create, list, show and delete isolated sandboxes (``core/sessions.py``).

``POST /__admin/sessions`` body (every field optional)::

    {"name": "ci-42", "fixtures": {"qubs": {...}} | "<YAML text>", "scenarios": [<scenario document>...],
     "seed": 7, "ttlSeconds": 600}

answers 201 with the session: ``name``, ``baseUrl`` (``<server>/~s/<name>``: a whole sandbox, its
``/__admin`` included), ``pathPrefix``, ``createdAt`` and ``expiresAt`` (real time, ISO 8601, or null).
Errors: 400 bad body, fixtures or scenarios; 409 name taken; 429 ``max_sessions`` live sessions.

The registry is called from a worker thread: building a session (its fixtures, its S3) takes a while, and
over shared state every call reads Redis, so neither holds the other requests on the event loop.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from mock_server.core.clock import iso_ms
from mock_server.core.fixtures import FixtureError
from mock_server.core.jsontext import JSONResponse
from mock_server.core.sessions import Session, SessionError, SessionRegistry, SessionSpec

FIELDS = {"name", "fixtures", "scenarios", "seed", "ttlSeconds"}


def _error(status: int, message: str, **extra: Any) -> JSONResponse:
    return JSONResponse({"error": {"status": status, "message": message, **extra}}, status_code=status)


def _registry(request: Request) -> SessionRegistry:
    return request.app.state.sessions


def _iso(seconds: float | None) -> str | None:
    if seconds is None:
        return None
    return iso_ms(seconds)


def _shown(request: Request, session: Session) -> dict[str, Any]:
    return {
        "name": session.name,
        "baseUrl": session.sandbox.base_url(request),
        "pathPrefix": session.sandbox.path_prefix,
        "createdAt": _iso(session.created_at),
        "expiresAt": _iso(session.expires_at),
    }


def spec_of(body: Any) -> SessionSpec:
    """The ``SessionSpec`` a request body asks for. Raises: SessionError 400 naming the bad field."""
    if not isinstance(body, dict):
        raise SessionError(400, "expected a JSON object (every field optional)")
    unknown = sorted(set(body) - FIELDS)
    if unknown:
        raise SessionError(
            400, f"unknown field(s): {', '.join(unknown)} (known: {', '.join(sorted(FIELDS))})"
        )
    name, fixtures, seed, ttl = (body.get(k) for k in ("name", "fixtures", "seed", "ttlSeconds"))
    scenarios = body.get("scenarios") or []
    if name is not None and not isinstance(name, str):
        raise SessionError(400, "name: expected a string")
    if fixtures is not None and not isinstance(fixtures, dict | str):
        raise SessionError(400, "fixtures: expected an object of vendor name to fixtures, or YAML text")
    if seed is not None and (not isinstance(seed, int) or isinstance(seed, bool)):
        raise SessionError(400, "seed: expected an integer")
    if ttl is not None and (isinstance(ttl, bool) or not isinstance(ttl, int | float) or ttl <= 0):
        raise SessionError(400, "ttlSeconds: expected a positive number of seconds")
    if not isinstance(scenarios, list):
        scenarios = [scenarios]
    if not all(isinstance(doc, dict | str) for doc in scenarios):
        raise SessionError(400, "scenarios: expected scenario documents (objects or YAML text)")
    return SessionSpec(name, fixtures, tuple(scenarios), seed, None if ttl is None else float(ttl))


async def create_session(request: Request) -> Response:
    raw = await request.body()
    try:
        spec = spec_of(json.loads(raw) if raw.strip() else {})
        session = await run_in_threadpool(_registry(request).create, spec)
    except SessionError as exc:
        return _error(exc.status, exc.message)
    except FixtureError as exc:
        return _error(400, "invalid fixtures: " + "; ".join(exc.problems))
    except ValueError as exc:  # invalid JSON, or a ScenarioError
        return _error(400, f"invalid session request: {exc}")
    return JSONResponse(_shown(request, session), status_code=201)


async def list_sessions(request: Request) -> Response:
    registry = _registry(request)
    sessions = [_shown(request, session) for session in await run_in_threadpool(registry.list)]
    return JSONResponse({"sessions": sessions, "maxSessions": registry.limit})


async def get_session(request: Request) -> Response:
    name = request.path_params["name"]
    session = await run_in_threadpool(_registry(request).get, name)
    if session is None or session.name == "default":
        return _error(404, f"no session {name!r}", session=name)
    return JSONResponse(_shown(request, session))


async def delete_session(request: Request) -> Response:
    name = request.path_params["name"]
    if not await run_in_threadpool(_registry(request).delete, name):
        return _error(404, f"no session {name!r}", session=name)
    return Response(status_code=204)


routes: list[BaseRoute] = [
    Route("/sessions", create_session, methods=["POST"], name="admin:createSession"),
    Route("/sessions", list_sessions, methods=["GET"], name="admin:listSessions"),
    Route("/sessions/{name}", get_session, methods=["GET"], name="admin:getSession"),
    Route("/sessions/{name}", delete_session, methods=["DELETE"], name="admin:deleteSession"),
]
