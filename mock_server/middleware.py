"""Per-request plumbing, as one plain ASGI middleware, in this order:

0. the header-size guard (``guard``: a refusal answered before anything else, but journaled),
1. correlation id (echo ``X-Correlation-Id`` or make one; vendors that document the header get it back),
2. route resolution to ``<vendor>.<operation>`` and path parameters (for the journal and scenarios),
3. the scenario engine, which may answer, delay, cut the connection or shorten lifetimes,
4. the journal entry and the request log line, written as the response's last chunk goes out.
"""

from __future__ import annotations

import difflib
import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from starlette.datastructures import Headers, MutableHeaders
from starlette.routing import BaseRoute, Match, Mount
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mock_server.core.journal import BodyCapture
from mock_server.core.requests import CLIENT_GONE
from mock_server.core.routing import remember_walk, walk_routes
from mock_server.core.sandbox import Sandbox
from mock_server.logs import REQUEST_LOGGER, log_request
from mock_server.scenarios.operations import operation_table

logger = logging.getLogger(REQUEST_LOGGER)

# Probes and the dashboard's own files are not journaled: they would only push real traffic out.
UNJOURNALED = ("/__admin/health", "/__admin/dashboard/", "/__admin/requests/stream")


def resolve_route(routes: Sequence[BaseRoute], scope: Scope) -> tuple[str | None, dict[str, Any]]:
    """The matching route's name and path parameters, looking inside mounts.

    Like Starlette's router, a route matching path and method wins over an earlier one matching
    the path only (which would answer 405); that one is the fallback.
    """
    fallback: tuple[str | None, dict[str, Any]] | None = None
    for route in routes:
        match, child = route.matches(scope)
        if match is Match.NONE:
            continue
        if isinstance(route, Mount):
            name, params, full = _resolve_in(route, scope, child)
            if name is not None and full:
                return name, params
            if name is not None and fallback is None:
                fallback = (name, params)
            continue
        found = (getattr(route, "name", None), dict(child.get("path_params", {})))
        if match is Match.FULL:
            return found
        fallback = fallback or found
    return fallback or (None, {})


def _resolve_in(mount: Mount, scope: Scope, child: Scope) -> tuple[str | None, dict[str, Any], bool]:
    inner = {**scope, **child}
    for route in mount.routes:
        match, grandchild = route.matches(inner)
        if match is Match.FULL and not isinstance(route, Mount):
            return route.name, {**child.get("path_params", {}), **grandchild.get("path_params", {})}, True
    name, params = resolve_route(mount.routes, inner)
    return name, {**child.get("path_params", {}), **params}, False


def nearest_route(routes: Sequence[BaseRoute], method: str, path: str) -> str | None:
    """``"METHOD /template (operation)"`` of the route closest to an unmatched request, for the journal.

    Segments equal (or a ``{parameter}``) count most; the text similarity of the rest breaks ties.
    """
    wanted = [part for part in path.split("/") if part]
    best: tuple[float, str] | None = None
    for row in operation_table(routes):
        template = [part for part in row["path"].split("/") if part]
        same = sum(1 for a, b in zip(wanted, template, strict=False) if a == b or b.startswith("{"))
        score = same / max(len(wanted), len(template), 1)
        score += 0.2 * difflib.SequenceMatcher(None, path, row["path"]).ratio()
        score += 0.05 if method in row["methods"] else 0.0
        if best is None or score > best[0]:
            label = f"{'|'.join(row['methods']) or '*'} {row['path']} ({row['operation']})"
            best = (score, label)
    return best[1] if best else None


def vendor_of_path(path: str, sandbox: Sandbox) -> str | None:
    first = "/" + path.lstrip("/").split("/", 1)[0]
    for vendor in sandbox.vendors.values():
        if first in vendor.mount_table():
            return vendor.name
    if first == "/__admin":
        return "admin"
    return sandbox.settings.root_vendor


class SandboxMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        sandbox: Sandbox,
        routes: Sequence[BaseRoute],
        guard: Callable[[Sandbox, Scope], ASGIApp | None] | None = None,
    ) -> None:
        self.app = app
        self.sandbox = sandbox
        self.routes = routes
        self.guard = guard

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        state = scope.setdefault("state", {})
        sandbox: Sandbox = state.get("sandbox") or self.sandbox  # the session's (session_middleware)
        if sandbox.shared is None:
            await self._serve(sandbox, scope, receive, send)
            return
        # State shared with other processes: catch up first, then send this request's writes in one
        # round trip as its answer starts (and what follows, e.g. the journal entry, at its end).
        with sandbox.shared.writes():
            await sandbox.sync_async()
            await self._serve(sandbox, scope, receive, send)

    async def _serve(self, sandbox: Sandbox, scope: Scope, receive: Receive, send: Send) -> None:
        state = scope["state"]
        started = sandbox.clock.monotonic()
        request_headers = Headers(scope=scope)
        correlation_id = request_headers.get("x-correlation-id") or sandbox.ids.request_id()
        walked = walk_routes(self.routes, scope)
        if walked and not isinstance(walked[-1][0], Mount):  # the walk ends at the route that will answer
            route_name = getattr(walked[-1][0], "name", None)
            path_params = dict(walked[-1][1].get("path_params", {}))
        elif walked:  # in a mount none of whose routes matches fully: the answer comes from that mount
            inner = scope
            for _, child in walked:
                inner = {**inner, **child}
            route_name, path_params = resolve_route(walked[-1][0].routes, inner)
        else:
            route_name, path_params = resolve_route(self.routes, scope)
        remember_walk(scope, walked)
        vendor_name = route_name.split(":", 1)[0] if route_name else vendor_of_path(scope["path"], sandbox)
        operation = route_name.replace(":", ".", 1) if route_name else None
        state.update(
            correlation_id=correlation_id,
            vendor=vendor_name,
            operation=operation,
            route_params=path_params,
            scenario_rule=None,
        )
        vendor = sandbox.vendors.get(vendor_name or "")
        echo_header = vendor.correlation_header if vendor else None
        stamp = vendor.response_headers if vendor else None
        outcome: dict[str, Any] = {"status": None}
        journaled = not scope["path"].startswith(UNJOURNALED)
        limit = sandbox.journal.body_limit
        request_body, response_body = BodyCapture(limit), BodyCapture(limit)
        outcome["bodies"] = (request_body, response_body)

        async def receive_wrapper() -> Message:
            message = await receive()
            if message["type"] == "http.request":
                request_body.feed(message.get("body", b""))
                if not message.get("more_body", False):
                    outcome["body_complete"] = True
            elif message["type"] == "http.disconnect" and not outcome.get("body_complete"):
                # Whatever the route answers to the incomplete body (S3: 400 IncompleteBody), nobody reads it.
                state["client_gone"] = True
            return message

        # The answer's start is held until its last body chunk: then the journal entry is written, with
        # the request's queued writes (one round trip over shared state), before the client can see the
        # answer, so whatever it asks next (its journal entry included) already holds, in any process.
        # A streamed answer (more body to come) goes out at its first chunk, journaled at its end.
        held: list[Message] = []

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                outcome["status"] = message["status"]
                if echo_header:
                    MutableHeaders(scope=message)[echo_header] = correlation_id
                if stamp is not None:
                    add_missing_headers(message, stamp(sandbox, scope["path"], correlation_id))
                outcome["headers"] = list(message.get("headers", ()))  # as sent here (decoded when read)
                if 100 <= message["status"] <= 599:
                    held.append(message)
                    return
                # A scenario's dropped connection (scenarios/actions.py): the server refuses it and closes.
                if sandbox.shared is not None:
                    sandbox.shared.flush()
            if message["type"] == "http.response.body":
                response_body.feed(message.get("body", b""))
                if held:
                    if message.get("more_body", False) or not journaled:
                        if sandbox.shared is not None:
                            sandbox.shared.flush()
                    else:
                        outcome["recorded"] = True
                        await self._record(sandbox, scope, outcome, started)
                    await send(held.pop())
            await send(message)

        try:
            engine = sandbox.scenarios
            intercept = getattr(engine, "intercept", None)
            refused = self.guard(sandbox, scope) if self.guard is not None else None
            if refused is not None:
                await refused(scope, receive_wrapper, send_wrapper)
            elif intercept is None:
                await self.app(scope, receive_wrapper, send_wrapper)
            else:
                await intercept(scope, receive_wrapper, send_wrapper, self.app)
        except Exception as exc:
            outcome["error"] = f"{type(exc).__name__}: {exc}"
            raise
        finally:
            if held and "error" not in outcome:  # the app ended without a body message
                if sandbox.shared is not None:
                    sandbox.shared.flush()
                await send(held.pop())
            if journaled and not outcome.get("recorded"):
                await self._record(sandbox, scope, outcome, started)

    async def _record(self, sandbox: Sandbox, scope: Scope, outcome: dict[str, Any], started: float) -> None:
        state = scope["state"]
        request_body, response_body = outcome["bodies"]
        status = outcome.get("status")
        nearest = None
        if state.get("operation") is None and status in (404, 405):
            nearest = nearest_route(self.routes, scope["method"], scope["path"])
        fields = dict(
            timestamp=sandbox.clock.time(),
            realTime=sandbox.clock.real_time(),
            method=scope["method"],
            path=scope["path"],
            query_string=scope.get("query_string", b"").decode("latin-1"),
            headers=scope["headers"],
            vendor=state.get("vendor"),
            operation=state.get("operation"),
            correlationId=state["correlation_id"],
            status=status,
            durationMs=round((sandbox.clock.monotonic() - started) * 1000, 3),
            scenarioRule=state.get("scenario_rule"),
            error=outcome.get("error") or (CLIENT_GONE if state.get("client_gone") else None),
            response_headers=outcome.get("headers", ()),
            request_body=request_body.value(),
            response_body=response_body.value(),
            explanation=state.get("signature_explanation"),
            nearest_route=nearest,
        )
        if sandbox.shared is not None:
            entry = await sandbox.journal.record_async(**fields)
        else:
            entry = sandbox.journal.record(**fields)
        log_request(logger, entry.line())


def add_missing_headers(message: Message, headers: Mapping[str, str]) -> None:
    """Append to a response start message the ``headers`` it lacks (names compared lower-cased)."""
    if not headers:
        return
    held = message.setdefault("headers", [])
    present = {name.lower() for name, _ in held}
    extra = [
        (name.lower().encode("latin-1"), value.encode("latin-1"))
        for name, value in headers.items()
        if name.lower().encode("latin-1") not in present
    ]
    if extra:
        message["headers"] = [*held, *extra]
