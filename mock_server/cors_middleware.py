"""CORS for browsers: S3's bucket rules on storage URLs, opt-in permissive CORS on vendor APIs.

Also: a storage refusal sent before a ``100-continue`` body was read closes the connection.

Storage (``/s3``, ``/gcs``): every answer to a request with ``Origin`` (errors and injected scenario
answers included) gets the headers S3 adds for the bucket's CORS rules (``storage.cors``); preflight
``OPTIONS`` is a storage route, answered and journaled like any S3 request.

Vendor APIs: real vendors' APIs are called from servers, so by default the sandbox adds no CORS
headers there. With the ``stub_cors`` setting (``--stub-cors``, like WireMock's
``--enable-stub-cors``) a preflight is answered 200 here (allowing the requested method and
headers for the Origin) and every answer echoes the Origin, allows credentials and exposes its
headers, so a front-end on another origin can call the sandbox directly.
"""

from __future__ import annotations

from starlette.datastructures import Headers, MutableHeaders
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mock_server.core.sandbox import Sandbox
from mock_server.middleware import vendor_of_path
from mock_server.storage import cors
from mock_server.storage.service import DOWNLOAD_PREFIX, STORAGE_PREFIX

STUB_METHODS = "GET, POST, PUT, PATCH, DELETE, HEAD, OPTIONS"
STORAGE_ROOTS = (STORAGE_PREFIX + "/", DOWNLOAD_PREFIX + "/")


class CorsMiddleware:
    def __init__(self, app: ASGIApp, sandbox: Sandbox) -> None:
        self.app = app
        self.sandbox = sandbox

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        origin = headers.get("origin")
        path: str = scope["path"]
        if path.startswith(STORAGE_ROOTS) and headers.get("expect", "").lower() == "100-continue":
            receive, send = _close_unless_body_read(receive, send)
        if path.startswith(STORAGE_ROOTS):
            await self._storage(scope, receive, send, origin)
        elif origin is None:
            await self.app(scope, receive, send)
        elif self.sandbox.settings.stub_cors and vendor_of_path(path, self.sandbox) not in (None, "admin"):
            await self._stub(scope, receive, send, headers, origin)
        else:
            await self.app(scope, receive, send)

    async def _storage(self, scope: Scope, receive: Receive, send: Send, origin: str | None) -> None:
        if scope["method"] == "OPTIONS" or origin is None:
            await self.app(scope, receive, send)
            return
        bucket = scope["path"].split("/", 3)[2]
        sandbox = scope.get("state", {}).get("sandbox", self.sandbox)  # the session's, when one is chosen
        added = cors.response_headers(sandbox.storage.objects, bucket, origin, scope["method"])

        async def with_cors(message: Message) -> None:
            if message["type"] == "http.response.start" and added:
                response_headers = MutableHeaders(scope=message)
                for name, value in added.items():
                    if name not in response_headers:
                        response_headers[name] = value
            await send(message)

        await self.app(scope, receive, with_cors)

    async def _stub(self, scope: Scope, receive: Receive, send: Send, headers: Headers, origin: str) -> None:
        allowed = {
            "Access-Control-Allow-Origin": origin,
            "Access-Control-Allow-Credentials": "true",
            "Vary": "Origin",
        }
        if scope["method"] == "OPTIONS" and "access-control-request-method" in headers:
            requested = headers.get("access-control-request-headers")
            preflight = {
                **allowed,
                "Access-Control-Allow-Methods": STUB_METHODS,
                "Access-Control-Max-Age": "3600",
            }
            if requested:
                preflight["Access-Control-Allow-Headers"] = requested
            await Response(status_code=200, headers=preflight)(scope, receive, send)
            return

        async def with_cors(message: Message) -> None:
            if message["type"] == "http.response.start":
                response_headers = MutableHeaders(scope=message)
                exposed = ", ".join(sorted({name for name, _ in response_headers.items()}))
                for name, value in {**allowed, "Access-Control-Expose-Headers": exposed}.items():
                    if name not in response_headers:
                        response_headers[name] = value
            await send(message)

        await self.app(scope, receive, with_cors)


def _close_unless_body_read(receive: Receive, send: Send) -> tuple[Receive, Send]:
    """A refusal sent before a ``100-continue`` body was asked for closes the connection.

    The client (boto3 sends ``Expect: 100-continue`` on uploads) then never sends that body, so
    the connection cannot carry another request; S3 closes it too.
    """
    state = {"read": False}
    original_receive = receive

    async def tracking_receive() -> Message:
        state["read"] = True
        return await original_receive()

    async def closing_send(message: Message) -> None:
        if message["type"] == "http.response.start" and not state["read"]:
            MutableHeaders(scope=message)["Connection"] = "close"
        await send(message)

    return tracking_receive, closing_send
