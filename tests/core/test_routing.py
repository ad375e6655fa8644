"""One route match per request: the middleware's walk names the route the full resolution names, and the
routers take the walk only for the path it was made for and for routes of their own."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Mount, Route
from starlette.testclient import TestClient

from mock_server.app import create_app
from mock_server.core.routing import ROUTE_WALK, WalkedRouter, remember_walk, walk_routes
from mock_server.middleware import resolve_route
from mock_server.scenarios.operations import operation_table
from mock_server.settings import Settings

APP = create_app(Settings(root_vendor="qubs"))
ROUTES = APP.router.routes
TEMPLATES = [(row["path"], method) for row in operation_table(ROUTES) for method in row["methods"] or ["GET"]]
SEGMENTS = sorted({part for path, _ in TEMPLATES for part in path.split("/") if part and "{" not in part})
METHODS = ["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"]


def _scope(method: str, path: str) -> dict[str, Any]:
    return {"type": "http", "method": method, "path": path, "root_path": "", "state": {}, "headers": []}


def _named(method: str, path: str) -> tuple[str | None, dict[str, Any]] | None:
    """What the middleware journals from the walk, or None where it falls back to ``resolve_route``."""
    walked = walk_routes(ROUTES, _scope(method, path))
    if not walked or isinstance(walked[-1][0], Mount):
        return None
    return getattr(walked[-1][0], "name", None), dict(walked[-1][1].get("path_params", {}))


@pytest.mark.parametrize(("template", "method"), TEMPLATES)
def test_every_operation_is_walked_to_the_route_the_resolution_names(template: str, method: str) -> None:
    path = re.sub(r"\{[^}]+\}", "x-1", template)
    named = _named(method, path)
    assert named is not None and named == resolve_route(ROUTES, _scope(method, path))


@settings(max_examples=400, deadline=None)
@given(
    st.sampled_from(METHODS),
    st.lists(st.sampled_from(SEGMENTS) | st.text("abz09-._~%:", min_size=1, max_size=6), max_size=9),
    st.booleans(),
)
def test_any_path_is_walked_to_the_route_the_resolution_names(
    method: str, parts: list[str], slash: bool
) -> None:
    path = "/" + "/".join(parts) + ("/" if slash and parts else "")
    named = _named(method, path)
    if named is not None:
        assert named == resolve_route(ROUTES, _scope(method, path))


def _tagged(tag: str) -> Any:
    async def endpoint(request: Request) -> PlainTextResponse:
        return PlainTextResponse(f"{tag} {request.path_params}")

    return endpoint


def _app(walk_for: str | None) -> tuple[Starlette, list[Route]]:
    """A router of two overlapping routes; a middleware leaves a walk naming the second for ``walk_for``."""
    routes = [Route("/a/{x}", _tagged("first")), Route("/a/{x}", _tagged("second"))]

    class Walk:
        def __init__(self, app: Any) -> None:
            self.app = app

        async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
            scope.setdefault("state", {})
            if walk_for is not None:
                _, child = routes[1].matches({**scope, "path": walk_for})
                remember_walk({**scope, "path": walk_for}, [(routes[1], child)])
            await self.app(scope, receive, send)

    app = Starlette()
    app.router = WalkedRouter(routes)
    app.add_middleware(Walk)
    return app, routes


def test_a_router_takes_the_walk_made_for_its_path() -> None:
    app, _ = _app("/a/1")
    assert TestClient(app).get("/a/1").text == "second {'x': '1'}"


@pytest.mark.parametrize("walk_for", [None, "/a/2"])
def test_without_a_walk_for_its_path_a_router_matches_itself(walk_for: str | None) -> None:
    app, _ = _app(walk_for)
    assert TestClient(app).get("/a/1").text == "first {'x': '1'}"


def test_a_router_ignores_a_walk_through_routes_it_does_not_hold() -> None:
    foreign = Route("/a/{x}", _tagged("foreign"))
    scope = _scope("GET", "/a/1")
    walked = [(foreign, foreign.matches(scope)[1])]
    remember_walk(scope, walked)
    sent: list[Any] = []

    async def receive() -> Any:
        return {"type": "http.request", "body": b""}

    async def send(message: Any) -> None:
        sent.append(message)

    asyncio.run(WalkedRouter([Route("/a/{x}", _tagged("own"))]).app(scope, receive, send))
    assert sent[-1]["body"] == b"own {'x': '1'}"
    assert scope["state"][ROUTE_WALK][1] == walked  # left as it was


@pytest.mark.parametrize(
    ("path", "vendor", "admin"),
    [("/qubs/integrations/v1/nope", "qubs", False), ("/__admin/nope", "admin", True)],
)
def test_a_request_no_route_of_its_mount_takes_is_named_after_that_mount(
    path: str, vendor: str, admin: bool
) -> None:
    """With a vendor at the root (a mount at "" after every other), an unknown path under another mount is
    that mount's 404: journaled under its vendor, with no operation, never as the root vendor's."""
    app = create_app(Settings(root_vendor="storage"))
    with TestClient(app) as client:
        assert client.get(path).status_code == 404
    entry = app.state.sandbox.journal.entries(admin=admin, path=path)[0]
    assert (entry.vendor, entry.operation, entry.status) == (vendor, None, 404)
