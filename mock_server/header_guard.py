"""The transport's rules that need the request as the application sees it, in front of the app.

- ``HeaderGuard`` refuses a complete request head with more than ``max_header_bytes`` of headers or
  ``max_header_count`` lines with 400, rendered by the vendor the path belongs to (S3's XML
  ``RequestHeaderSectionTooLarge`` for storage, as real S3 answers any oversized head).
- ``oversized_head_answer`` renders the same refusal from the request target alone, for a head the
  protocol refuses before the parser buffers it (``mock_server.transport``).
- ``CloseUnreadContinue`` closes the connection after an answer to an ``Expect: 100-continue`` request
  whose body was never asked for.
"""

from __future__ import annotations

import http
from typing import Any
from urllib.parse import unquote

from starlette.datastructures import MutableHeaders
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mock_server.core.errors import SandboxError
from mock_server.core.jsontext import JSONResponse
from mock_server.core.sandbox import Sandbox
from mock_server.session_middleware import split_session


class CloseUnreadContinue:
    """An answer to an ``Expect: 100-continue`` request whose body was never asked for closes the connection.

    uvicorn sends ``100 Continue`` on the application's first ``receive``; answered before that, the client
    never sends its body (botocore, curl and Go's client do not) and the connection cannot carry another
    request: kept alive, the next request would be read as that body. Go's ``net/http`` server closes
    in this case too. Outermost, so every answer (session, header or vendor refusal) is covered.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        expects = scope["type"] == "http" and any(
            name == b"expect" and value.lower() == b"100-continue" for name, value in scope["headers"]
        )
        if not expects:
            await self.app(scope, receive, send)
            return
        asked = False

        async def tracking_receive() -> Message:
            nonlocal asked
            asked = True
            return await receive()

        async def closing_send(message: Message) -> None:
            if message["type"] == "http.response.start" and not asked:
                message.setdefault("headers", [])
                MutableHeaders(scope=message)["Connection"] = "close"
            await send(message)

        await self.app(scope, tracking_receive, closing_send)


class HeaderTooLarge(SandboxError):
    status = 400
    code = "header-section-too-large"


def oversized_headers(sandbox: Sandbox, scope: Scope) -> Response | None:
    """The 400 for a request whose header section is over ``max_header_bytes`` or ``max_header_count``
    lines, else None.

    Counted as on the wire: each line is ``name: value\\r\\n``. ``SandboxMiddleware`` asks before the
    scenario engine and routing, so no vendor code or rule sees the request, and the refusal is journaled;
    it is rendered by the vendor the path belongs to.
    """
    settings = sandbox.settings
    headers = scope["headers"]
    size = sum(len(name) + len(value) + 4 for name, value in headers)
    if size > settings.max_header_bytes or len(headers) > settings.max_header_count:
        return refusal(sandbox, scope, f"{size} bytes in {len(headers)} lines")
    return None


def refusal(sandbox: Sandbox, scope: Scope, seen: str) -> Response:
    """The 400 for an oversized head, in the format of the vendor ``scope["path"]`` belongs to
    (``{"error": ...}`` JSON elsewhere), with ``Connection: close``. ``seen``: what was counted."""
    settings = sandbox.settings
    message = (
        f"Your request header section exceeds the maximum allowed size ({seen}; at most "
        f"{settings.max_header_bytes} bytes and {settings.max_header_count} lines)."
    )
    first = "/" + scope["path"].lstrip("/").split("/", 1)[0]
    vendor = next((v for v in sandbox.vendors.values() if first in v.mount_table()), None)
    if vendor is None and settings.root_vendor and first != "/__admin":
        vendor = sandbox.vendors.get(settings.root_vendor)
    response: Response
    if vendor is None:
        response = JSONResponse({"error": {"status": 400, "message": message}}, status_code=400)
    else:
        error = vendor.error_for_status(400, message)
        if vendor.name == "storage":
            error.code = "RequestHeaderSectionTooLarge"
        response = vendor.render_error(Request(scope), error)
    response.headers["Connection"] = "close"
    return response


def oversized_head_answer(app: Any, target: bytes, counted: int) -> bytes:
    """The whole HTTP/1.1 answer refusing a head the protocol stopped reading after ``counted`` bytes,
    rendered from its request target (``/s3/...`` or ``http://host/s3/...``) as ``oversized_headers`` would.

    ``app``: the Starlette app whose ``state.sandbox`` renders it. The target may be cut short: only its
    first path segment (after a session prefix) picks the vendor.
    """
    text = target.decode("latin-1").split("?", 1)[0]
    if "://" in text:  # absolute-form: the path follows the authority (no URL parser: any bytes may come)
        text = "/" + text.partition("://")[2].partition("/")[2]
    path = split_session(unquote(text) or "/")[1]
    scope: Scope = {
        "type": "http",
        "method": "GET",
        "path": path,
        "raw_path": path.encode("latin-1", "replace"),
        "root_path": "",
        "query_string": b"",
        "headers": [],
        "app": app,
        "state": {},
    }
    response = refusal(app.state.sandbox, scope, f"more than {counted} bytes")
    lines = [
        b"HTTP/1.1 %d %s" % (response.status_code, http.HTTPStatus(response.status_code).phrase.encode())
    ]
    lines += [name + b": " + value for name, value in response.raw_headers]
    return b"\r\n".join(lines) + b"\r\n\r\n" + bytes(response.body)
