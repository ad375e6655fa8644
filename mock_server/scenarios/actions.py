"""What an applied rule does to the exchange: answer, add headers, cut the connection, truncate.

Injected answers use the vendor's own error class and renderer (``Vendor.error_for_status`` and
``Vendor.render_error``), so a 429 for QUBS is problem+json and a 503 for storage is S3's
``SlowDown`` XML, without this module knowing any vendor.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

from starlette.datastructures import MutableHeaders
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mock_server.core.jsontext import JSONResponse
from mock_server.core.vendor import Vendor
from mock_server.scenarios.matching import RequestFacts
from mock_server.scenarios.model import Action, Respond

logger = logging.getLogger("mock_server.scenarios")


class ConnectionDropped(Exception):
    """Raised where the server cannot be made to close the connection silently (in-process test clients)."""


async def perform(
    action: Action,
    scope: Scope,
    receive: Receive,
    send: Send,
    app: ASGIApp,
    vendors: Mapping[str, Vendor],
    facts: RequestFacts,
) -> None:
    """Run the request under ``action`` (delays and lifetimes are applied by the engine before this)."""
    if action.fault == "drop":
        await drop_connection(send, scope["state"].get("scenario_rule"))
        return
    if action.headers:
        send = with_headers(send, action.headers)
    if action.fault == "truncate":
        send = Truncating(send, action.truncate_at)
    if action.respond is None:
        await app(scope, receive, send)
        return
    if (facts.header("expect") or "").lower() != "100-continue":
        await drain(receive)
    response = build_response(action.respond, scope, receive, vendors)
    await response(scope, receive, send)


async def drop_connection(send: Send, label: str | None) -> None:
    """Close the connection without a byte of response.

    A status outside 100-599 makes the HTTP server refuse to write a status line (uvicorn raises
    while formatting it); the server then closes the connection, and the client sees "connection
    closed without response". A server that accepts it gets ``ConnectionDropped`` instead.
    """
    logger.info("scenario rule %s dropped the connection", label)
    try:
        await send({"type": "http.response.start", "status": 0, "headers": []})
    except Exception:  # noqa: BLE001 - whatever the server raised, it will now close the socket
        return
    raise ConnectionDropped(f"scenario rule {label} dropped the connection")


def with_headers(send: Send, headers: tuple[tuple[str, str], ...]) -> Send:
    async def wrapped(message: Message) -> None:
        if message["type"] == "http.response.start":
            mutable = MutableHeaders(scope=message)
            for name, value in headers:
                mutable[name] = value
        await send(message)

    return wrapped


class Truncating:
    """Forwards the response start (full Content-Length) and only the first bytes of the body.

    The response is never completed, so the server closes the connection and the client sees a
    body shorter than announced. Default cut: half the announced length (or of the first chunk).
    """

    def __init__(self, send: Send, limit: int | None) -> None:
        self.send = send
        self.limit = limit
        self.declared: int | None = None
        self.sent = 0
        self.done = False

    async def __call__(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            length = dict(message.get("headers", [])).get(b"content-length")
            self.declared = int(length) if length and length.isdigit() else None
            await self.send(message)
            return
        if message["type"] != "http.response.body" or self.done:
            return
        body = message.get("body", b"")
        if self.limit is None:
            self.limit = (self.declared if self.declared is not None else len(body)) // 2
        part = body[: max(self.limit - self.sent, 0)]
        self.sent += len(part)
        if self.sent >= self.limit or not message.get("more_body", False):
            self.done = True
        if part or self.done:
            await self.send({"type": "http.response.body", "body": part, "more_body": True})


async def drain(receive: Receive) -> None:
    """Read and discard the request body, so a client still sending it reads the answer cleanly."""
    while True:
        message = await receive()
        if message["type"] != "http.request" or not message.get("more_body", False):
            return


def build_response(
    respond: Respond, scope: Scope, receive: Receive, vendors: Mapping[str, Vendor]
) -> Response:
    status = respond.status
    if respond.has_body:
        if isinstance(respond.body, str):
            response = Response(respond.body, status_code=status, media_type="text/plain")
        else:
            response = Response(_dumps(respond.body), status_code=status, media_type="application/json")
        if respond.content_type:
            response.headers["content-type"] = respond.content_type
        return response
    vendor = vendors.get(scope["state"].get("vendor") or "")
    if vendor is None:
        message = respond.message or _phrase(status)
        response: Response = JSONResponse(
            {"error": {"status": status, "message": message}}, status_code=status
        )
    else:
        error = vendor.error_for_status(status, respond.message)
        response = vendor.render_error(Request(scope, receive), error)
        for name, value in error.headers.items():
            response.headers.setdefault(name, value)
        response.status_code = status
    if respond.merge:
        response = _merged(response, respond.merge)
    if respond.content_type:
        response.headers["content-type"] = respond.content_type
    return response


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def _dumps(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode("utf-8")


def deep_merge(base: Any, extra: Mapping[str, Any]) -> Any:
    if not isinstance(base, dict):
        return dict(extra)
    merged = dict(base)
    for key, value in extra.items():
        merged[key] = deep_merge(merged.get(key), value) if isinstance(value, Mapping) else value
    return merged


def _merged(response: Response, extra: Mapping[str, Any]) -> Response:
    """The response with ``extra`` merged into its JSON body; non-JSON bodies are left as they are."""
    try:
        document = json.loads(response.body)
    except ValueError:
        logger.warning("scenario 'merge' ignored: the %s error body is not JSON", response.status_code)
        return response
    headers = {k: v for k, v in response.headers.items() if k not in {"content-length", "content-type"}}
    return Response(
        _dumps(deep_merge(document, extra)),
        status_code=response.status_code,
        headers=headers,
        media_type=response.headers.get("content-type", "application/json"),
    )
