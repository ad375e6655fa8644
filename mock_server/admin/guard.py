"""What every ``/__admin`` request passes before a handler sees it.

In order (each refusal is ``{"error": {"status", "message"}}``):

1. the admin token, when the ``admin_token`` setting is set: ``Authorization: Bearer <token>`` or
   HTTP Basic with the token as password (any user name); otherwise 401 with
   ``WWW-Authenticate: Basic realm="vendor-sandbox admin"``, so a browser shows its login prompt.
   ``GET /__admin/health`` stays open (status, version and vendor names only), so container health
   checks and readiness probes need no secret;
2. cross-site requests: an ``Origin`` other than the request's own scheme and Host (or the public
   URL) answers 403; a state-changing request (POST, PUT, PATCH, DELETE) with a content type a
   cross-site HTML form may send without a preflight (``text/plain``,
   ``application/x-www-form-urlencoded``, ``multipart/form-data``) answers 415;
3. the body: at most ``admin_body_bytes`` (1 MiB by default), counted while it streams in (a
   declared Content-Length over the cap answers 413 before any byte is read). The accepted body is
   handed to the handler as received, so a handler's ``await request.body()`` holds at most the cap.

The token is compared in constant time. Nothing here reads the clock or any vendor state.
"""

from __future__ import annotations

import base64
import hmac

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mock_server.core.jsontext import JSONResponse
from mock_server.core.sandbox import Sandbox

PREFIX = "/__admin"
REALM = 'Basic realm="vendor-sandbox admin"'
SIMPLE_TYPES = frozenset({"text/plain", "application/x-www-form-urlencoded", "multipart/form-data"})
STATE_CHANGING = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def _refusal(status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(
        {"error": {"status": status, "message": message}}, status_code=status, headers=headers
    )


def token_matches(authorization: str, token: str) -> bool:
    """True for ``Bearer <token>`` or ``Basic base64(<any user>:<token>)``."""
    scheme, _, credentials = authorization.strip().partition(" ")
    credentials = credentials.strip()
    if scheme.lower() == "bearer":
        offered = credentials
    elif scheme.lower() == "basic":
        try:
            decoded = base64.b64decode(credentials, validate=True).decode("utf-8")
        except ValueError:  # binascii.Error, UnicodeDecodeError, or non-ASCII text b64decode refuses
            return False
        offered = decoded.partition(":")[2]
    else:
        return False
    return hmac.compare_digest(offered.encode("utf-8", "surrogateescape"), token.encode("utf-8"))


def same_origin(origin: str, scope: Scope, headers: Headers, public_url: str | None) -> bool:
    """The request's ``Origin`` is this server as the client addressed it (or its public URL)."""
    own = {f"{scope.get('scheme', 'http')}://{headers.get('host', '')}".lower()}
    if public_url:
        own.add(public_url.rstrip("/").lower())
    return origin.strip().rstrip("/").lower() in own


class AdminGuard:
    """ASGI middleware: token, cross-site and body-size checks for paths under ``/__admin``."""

    def __init__(self, app: ASGIApp, sandbox: Sandbox) -> None:
        self.app = app
        self.sandbox = sandbox

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or not (path == PREFIX or path.startswith(PREFIX + "/")):
            await self.app(scope, receive, send)
            return
        refusal = self._check(scope, Headers(scope=scope))
        if refusal is None:
            body, refusal = await self._read_body(scope, receive)
        if refusal is not None:
            await refusal(scope, receive, send)
            return
        await self.app(scope, _replay(body, receive), send)

    def _check(self, scope: Scope, headers: Headers) -> JSONResponse | None:
        settings = self.sandbox.settings
        health = scope["path"].rstrip("/") == PREFIX + "/health" and scope["method"] in {"GET", "HEAD"}
        if (
            settings.admin_token
            and not health
            and not token_matches(headers.get("authorization", ""), settings.admin_token)
        ):
            return _refusal(
                401,
                "the admin API needs the admin token: Authorization: Bearer <token> "
                "(or HTTP Basic with the token as password)",
                {"WWW-Authenticate": REALM},
            )
        origin = headers.get("origin")
        if origin is not None and not same_origin(origin, scope, headers, settings.public_url):
            return _refusal(403, f"cross-site admin requests are refused (Origin {origin!r})")
        media = headers.get("content-type", "").split(";", 1)[0].strip().lower()
        if scope["method"] in STATE_CHANGING and media in SIMPLE_TYPES:
            return _refusal(
                415,
                f"admin requests with Content-Type {media} are refused (a cross-site form could send "
                "them); send application/json, or application/yaml for scenario documents",
            )
        return None

    async def _read_body(self, scope: Scope, receive: Receive) -> tuple[bytes, JSONResponse | None]:
        limit = self.sandbox.settings.admin_body_bytes
        declared = Headers(scope=scope).get("content-length")
        too_large = _refusal(413, f"admin request bodies are limited to {limit} bytes")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            return b"", too_large
        parts: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return b"", _refusal(400, "the client went away before the body was complete")
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                return b"", too_large
            parts.append(chunk)
            if not message.get("more_body", False):
                return b"".join(parts), None


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = {"body": False}

    async def replay() -> Message:
        if not sent["body"]:
            sent["body"] = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()  # after the body: wait for the disconnect as usual

    return replay
