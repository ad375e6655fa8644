"""Per-request plumbing, as one plain ASGI middleware, in this order:

1. correlation id (echo ``X-Correlation-Id`` or make one; vendors that document the header get it back),
2. route resolution to ``<vendor>.<operation>`` and path parameters (for the journal and scenarios),
3. the scenario engine, which may answer, delay, cut the connection or shorten lifetimes,
4. the journal entry and the request log line, written when the response ends.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from datetime import UTC
from typing import Any
from urllib.parse import parse_qsl

from starlette.datastructures import Headers, MutableHeaders
from starlette.routing import BaseRoute, Match, Mount
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mock_server.core.journal import masked_headers, masked_query
from mock_server.core.sandbox import Sandbox

logger = logging.getLogger("mock_server.requests")


def resolve_route(routes: Sequence[BaseRoute], scope: Scope) -> tuple[str | None, dict[str, Any]]:
    """The matching route's name and path parameters, looking inside mounts."""
    for route in routes:
        match, child = route.matches(scope)
        if match is Match.NONE:
            continue
        if isinstance(route, Mount):
            inner = {**scope, **child}
            name, params = resolve_route(route.routes, inner)
            if name is not None:
                return name, {**child.get("path_params", {}), **params}
            continue
        return getattr(route, "name", None), dict(child.get("path_params", {}))
    return None, {}


def vendor_of_path(path: str, sandbox: Sandbox) -> str | None:
    first = "/" + path.lstrip("/").split("/", 1)[0]
    for vendor in sandbox.vendors.values():
        if first in vendor.mount_table():
            return vendor.name
    if first == "/__admin":
        return "admin"
    return sandbox.settings.root_vendor


class SandboxMiddleware:
    def __init__(self, app: ASGIApp, sandbox: Sandbox, routes: Sequence[BaseRoute]) -> None:
        self.app = app
        self.sandbox = sandbox
        self.routes = routes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        sandbox = self.sandbox
        started = sandbox.clock.monotonic()
        request_headers = Headers(scope=scope)
        state = scope.setdefault("state", {})
        correlation_id = request_headers.get("x-correlation-id") or sandbox.ids.request_id()
        route_name, path_params = resolve_route(self.routes, scope)
        vendor_name = route_name.split(":", 1)[0] if route_name else vendor_of_path(scope["path"], sandbox)
        operation = route_name.replace(":", ".", 1) if route_name else None
        state.update(correlation_id=correlation_id, vendor=vendor_name, operation=operation,
                     route_params=path_params, scenario_rule=None)
        vendor = sandbox.vendors.get(vendor_name or "")
        echo_header = vendor.correlation_header if vendor else None
        outcome: dict[str, Any] = {"status": None}

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                outcome["status"] = message["status"]
                if echo_header:
                    MutableHeaders(scope=message)[echo_header] = correlation_id
            await send(message)

        try:
            engine = sandbox.scenarios
            intercept = getattr(engine, "intercept", None)
            if intercept is None or not await intercept(scope, receive, send_wrapper):
                await self.app(scope, receive, send_wrapper)
        except Exception as exc:
            outcome["error"] = f"{type(exc).__name__}: {exc}"
            raise
        finally:
            self._record(scope, request_headers, outcome, started)

    def _record(self, scope: Scope, headers: Headers, outcome: dict[str, Any], started: float) -> None:
        sandbox = self.sandbox
        state = scope["state"]
        query = scope.get("query_string", b"").decode("latin-1")
        entry = sandbox.journal.record(
            timestamp=sandbox.clock.now().astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            method=scope["method"],
            path=scope["path"],
            query=masked_query(parse_qsl(query, keep_blank_values=True)),
            headers=masked_headers(headers),
            vendor=state.get("vendor"),
            operation=state.get("operation"),
            correlationId=state["correlation_id"],
            status=outcome.get("status"),
            durationMs=round((sandbox.clock.monotonic() - started) * 1000, 3),
            scenarioRule=state.get("scenario_rule"),
            error=outcome.get("error"),
        )
        if scope["path"] == "/__admin/health" or not logger.isEnabledFor(logging.INFO):
            return
        if sandbox.settings.log_format == "json":
            fields = {k: entry.as_dict()[k] for k in ("timestamp", "vendor", "operation", "method", "path",
                                                      "status", "durationMs", "correlationId", "scenarioRule")}
            logger.info(json.dumps(fields))
        else:
            rule = f" rule={entry.scenarioRule}" if entry.scenarioRule else ""
            logger.info(
                "%s %s %s %s %s %.1fms cid=%s%s", entry.vendor or "-", entry.operation or "-", entry.method,
                entry.path, entry.status, entry.durationMs or 0.0, entry.correlationId, rule,
            )
