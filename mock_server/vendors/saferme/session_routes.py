"""SaferMe's v4 Sessions API routes (mounted at ``/saferme``): ``/api/v4/session`` with POST (sign in),
GET (current session), PATCH (refresh the token pair) and DELETE (sign out).

Only ``Content-Type`` is needed to create or refresh (sessions.md); GET and DELETE authenticate with
``Authorization: Token token=<access_token>`` alone. Behaviour lives in sessions.py.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from mock_server.core.jsontext import JSONResponse
from mock_server.core.requests import sandbox_of
from mock_server.vendors.saferme import sessions
from mock_server.vendors.saferme.auth import token_of
from mock_server.vendors.saferme.routes import _validated

PATH = "/api/v4/session"


def _text(section: dict[str, Any], name: str) -> str:
    value = section.get(name)
    return value if isinstance(value, str) else ""


async def create_session(request: Request) -> Response:
    sandbox = sandbox_of(request)
    section = (await _validated(request, "createV4Session"))["session"]
    app_bundle_id = sessions.check_app_bundle_id(sandbox, section.get("app_bundle_id"))
    session = sessions.create(sandbox, app_bundle_id, _text(section, "email"), _text(section, "password"))
    return JSONResponse(sessions.session_json(sandbox, session, with_tokens=True), status_code=201)


async def get_session(request: Request) -> Response:
    sandbox = sandbox_of(request)
    session = sessions.current(sandbox, token_of(request.headers.get("authorization")))
    return JSONResponse(sessions.session_json(sandbox, session, with_tokens=False))


async def refresh_session(request: Request) -> Response:
    sandbox = sandbox_of(request)
    section = (await _validated(request, "refreshV4Session"))["session"]
    session = sessions.refresh(sandbox, section["access_token"], section["refresh_token"])
    return JSONResponse(sessions.session_json(sandbox, session, with_tokens=True))


async def delete_session(request: Request) -> Response:
    sandbox = sandbox_of(request)
    session = sessions.current(sandbox, token_of(request.headers.get("authorization")))
    sessions.delete(sandbox, session)
    return JSONResponse({})


routes = [
    Route(PATH, create_session, methods=["POST"], name="saferme:createV4Session"),
    Route(PATH, get_session, methods=["GET"], name="saferme:getV4Session"),
    Route(PATH, refresh_session, methods=["PATCH"], name="saferme:refreshV4Session"),
    Route(PATH, delete_session, methods=["DELETE"], name="saferme:deleteV4Session"),
]
