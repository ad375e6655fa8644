"""The error boundary around one vendor's routes.

Inside it, every ``SandboxError`` (and Starlette's 404/405) is rendered in the vendor's own format,
and anything uncaught becomes the vendor's 500 (logged, journaled) instead of a bare traceback.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from typing import TypeVar

from starlette.exceptions import HTTPException
from starlette.middleware.exceptions import ExceptionMiddleware
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import BaseRoute
from starlette.types import Receive, Scope, Send

from mock_server.core.errors import SandboxError
from mock_server.core.routing import WalkedRouter
from mock_server.core.shared import state_unavailable
from mock_server.core.vendor import Vendor

R = TypeVar("R", bound=BaseRoute)

logger = logging.getLogger("mock_server.errors")


def dotall(route: R) -> R:
    """Let path parameters hold any character, newline included (Starlette's ``.`` stops at it).

    Without this, ``/qubs/.../ac%0Ame/...`` would miss every vendor route and get a bare text 404
    instead of the vendor's own error, and an S3 key with a newline could never be routed.
    """
    regex = getattr(route, "path_regex", None)
    if regex is not None:
        route.path_regex = re.compile(regex.pattern, re.DOTALL)  # type: ignore[attr-defined]
    return route


class VendorApp:
    def __init__(self, vendor: Vendor, routes: Sequence[BaseRoute]) -> None:
        self.vendor = vendor
        # A bare router (not a nested Starlette app): request.app stays the outer app, and errors
        # no handler takes reach this boundary instead of a plain-text ServerErrorMiddleware.
        self.router = WalkedRouter(routes=[dotall(route) for route in routes])
        self.app = ExceptionMiddleware(
            self.router, handlers={SandboxError: self._render, HTTPException: self._render_http}
        )

    @property
    def routes(self) -> list[BaseRoute]:
        return self.router.routes

    async def _render(self, request: Request, exc: Exception) -> Response:
        assert isinstance(exc, SandboxError)
        response = self.vendor.render_error(request, exc)
        for name, value in exc.headers.items():
            response.headers.setdefault(name, value)
        return response

    async def _render_http(self, request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        message = (
            exc.detail if exc.status_code != 404 else f"No route for {request.method} {request.url.path}"
        )
        error = self.vendor.error_for_status(exc.status_code, message)
        error.headers.update(exc.headers or {})  # e.g. Allow on a 405
        return await self._render(request, error)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = {"sent": False}

        async def tracking_send(message: dict) -> None:  # type: ignore[type-arg]
            if message["type"] == "http.response.start":
                started["sent"] = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except ClientDisconnect:
            # The client closed the connection before its request ended: there is nobody to answer,
            # and nothing went wrong here. The journal says so; the log shows no server error.
            scope.setdefault("state", {})["client_gone"] = True
        except Exception as exc:
            if scope["type"] != "http" or started["sent"] or state_unavailable(exc):
                raise  # a Redis outage is answered 503 by state_guard.py
            logger.exception("unhandled error in %s %s", scope.get("method"), scope.get("path"))
            scope.setdefault("state", {})["unhandled_error"] = f"{type(exc).__name__}: {exc}"
            request = Request(scope, receive)
            response = await self._render(request, self.vendor.error_for_status(500, None))
            await response(scope, receive, send)
