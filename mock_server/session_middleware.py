"""The outermost layer: which session's sandbox serves a request.

``/~s/<name>/<rest>`` (primary: works for every client, and every URL a session generates carries it)
serves ``/<rest>`` from session ``name``; else the ``X-Sandbox-Session: <name>`` header (for clients
that can add one); else the default session. The prefix is taken off ``scope["path"]`` so routing,
scenarios and the journal see the path every session shares; ``raw_path`` is left as sent, because a
SigV4 or GCS signature covers the path the client signed, prefix included.

The chosen sandbox goes to ``scope["state"]["sandbox"]``, where ``core.requests.sandbox_of`` and the
other middlewares find it. An unknown or expired session is a JSON 404 naming it, never the default.
"""

from __future__ import annotations

import json

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from mock_server.core.sessions import PATH_MARK, SessionRegistry

HEADER = "x-sandbox-session"


def split_session(path: str) -> tuple[str | None, str]:
    """``("name", "/rest")`` for ``/~s/name/rest`` (``"/"`` for ``/~s/name``), else ``(None, path)``."""
    if not path.startswith(PATH_MARK):
        return None, path
    name, slash, rest = path[len(PATH_MARK) :].partition("/")
    return name, slash + rest if slash else "/"


class SessionMiddleware:
    def __init__(self, app: ASGIApp, sessions: SessionRegistry) -> None:
        self.app = app
        self.sessions = sessions

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        name, rest = split_session(scope["path"])
        if name is None:
            name = Headers(scope=scope).get(HEADER) or None
        if name is None:
            await self.sessions.sweep_async()  # expired sessions go even when only the default one is in use
            scope.setdefault("state", {})["sandbox"] = self.sessions.default
            await self.app(scope, receive, send)
            return
        sandbox = await self.sessions.sandbox_async(name)
        if sandbox is None:
            await _unknown(name, scope, send)
            return
        scope = {**scope, "path": rest, "state": {**scope.get("state", {}), "sandbox": sandbox}}
        await self.app(scope, receive, send)


async def _unknown(name: str, scope: Scope, send: Send) -> None:
    message = (
        f"no sandbox session {name!r} (it was never created, was deleted or expired); "
        "create one with POST /__admin/sessions, list them with GET /__admin/sessions"
    )
    body = json.dumps({"error": {"status": 404, "message": message, "session": name}}).encode()
    if scope["type"] != "http":
        await send({"type": "websocket.close", "code": 1008})
        return
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": 404, "headers": headers})
    await send({"type": "http.response.body", "body": body})
