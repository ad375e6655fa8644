"""What a client gets while the shared state's Redis server cannot be reached (``--state-url``).

Every request over shared state reads and writes Redis; when the server is down (restarting, network
gone) the request cannot be served. Instead of a bare 500 and a traceback per request, the client gets
503 with ``Retry-After: 1`` in the vendor's own error format (the storage routes: S3's XML; admin and
the rest: the admin API's JSON error) naming the state server, and the log gets one warning when the
outage starts and one when requests go through again. Placed outermost: it covers the session lookup.
Each such answer still gets a request id (the client's ``X-Correlation-Id`` or a fresh one: the seeded
sequence lives in Redis) in its body and headers, as the vendor puts it, and a request line in the log.
"""

from __future__ import annotations

import logging
import secrets
from typing import Any

from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mock_server.core.jsontext import JSONResponse
from mock_server.core.sandbox import Sandbox
from mock_server.core.shared import state_unavailable
from mock_server.logs import REQUEST_LOGGER, log_request
from mock_server.middleware import add_missing_headers, vendor_of_path
from mock_server.session_middleware import split_session

logger = logging.getLogger("mock_server.state")
request_logger = logging.getLogger(REQUEST_LOGGER)

RETRY_AFTER_SECONDS = 1


class StateOutageGuard:
    def __init__(self, app: ASGIApp, sandbox: Sandbox) -> None:
        self.app = app
        self.sandbox = sandbox
        self.down_since: float | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False
        began = self.sandbox.clock.monotonic()

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception as exc:
            if not state_unavailable(exc) or started:
                raise
            self._went_down(exc, began)
            await self._answer(scope, receive, send, began)
            return
        if self.down_since is not None:
            logger.warning(
                "the shared state's Redis server answers again (unreachable for %.1f s)",
                self.sandbox.clock.monotonic() - self.down_since,
            )
            self.down_since = None

    def _went_down(self, exc: BaseException, began: float) -> None:
        """``began``: when the request that met the outage started (a silent Redis fails it only after the
        socket timeout), so the "answers again" line counts from there."""
        if self.down_since is None:
            self.down_since = began
            logger.warning(
                "the shared state's Redis server cannot be reached (%s): answering 503 until it can", exc
            )

    async def _answer(self, scope: Scope, receive: Receive, send: Send, began: float) -> None:
        state = scope.setdefault("state", {})
        if not state.get("correlation_id"):  # the outage came before the middleware gave it one
            given = Headers(scope=scope).get("x-correlation-id")
            state["correlation_id"] = given or secrets.token_hex(8)
        _, path = split_session(scope["path"])
        vendor_name = vendor_of_path(path, self.sandbox)
        vendor = self.sandbox.vendors.get(vendor_name or "")
        # rendered as the vendor sees the request: its path without the session prefix
        response = self._response({**scope, "path": path}, receive, vendor)
        correlation_id = state["correlation_id"]
        if vendor is not None and vendor.correlation_header:
            response.headers.setdefault(vendor.correlation_header, correlation_id)

        async def stamped_send(message: Message) -> None:
            if message["type"] == "http.response.start" and vendor is not None and vendor.response_headers:
                try:
                    add_missing_headers(message, vendor.response_headers(self.sandbox, path, correlation_id))
                except Exception:  # noqa: BLE001 - ids drawn from the unreachable state: the answer as it is
                    logger.debug("vendor response headers failed during a state outage", exc_info=True)
            await send(message)

        await response(scope, receive, stamped_send)
        log_request(
            request_logger,
            {
                "vendor": vendor_name,
                "operation": state.get("operation"),
                "method": scope["method"],
                "path": scope["path"],
                "status": response.status_code,
                "durationMs": round((self.sandbox.clock.monotonic() - began) * 1000, 3),
                "correlationId": correlation_id,
                "error": "StateUnavailable",
            },
        )

    def _response(self, scope: Scope, receive: Receive, vendor: Any) -> Response:
        message = (
            "The sandbox's shared state (its Redis server, --state-url) cannot be reached; "
            f"retry in {RETRY_AFTER_SECONDS} s."
        )
        headers = {"Retry-After": str(RETRY_AFTER_SECONDS)}
        if vendor is not None:
            try:
                error = vendor.error_for_status(503, message)
                error.headers.update(headers)
                response = vendor.render_error(Request(scope, receive), error)
                for name, value in error.headers.items():
                    response.headers.setdefault(name, value)
                return response
            except Exception:  # noqa: BLE001 - a vendor whose renderer needs the state: the plain answer
                logger.debug("vendor error renderer failed during a state outage", exc_info=True)
        # The admin API's error shape (admin/openapi.yaml, Error).
        body: dict[str, Any] = {"error": {"status": 503, "message": message}}
        return JSONResponse(body, status_code=503, headers=headers)
