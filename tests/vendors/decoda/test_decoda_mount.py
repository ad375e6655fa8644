"""The route table start-up mounts for Decoda stays equal to the FastAPI app's routes, and the app is
built once, on first use (mock_server/vendors/decoda/mount.py)."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.routing import Mount, Route
from starlette.testclient import TestClient

from mock_server.vendors.decoda import lazy_api
from mock_server.vendors.decoda.mount import OPERATIONS, LazyApi, placeholder_routes


def _shape(route: Any) -> tuple[Any, ...]:
    return (
        route.name,
        route.path,
        route.path_format,
        route.path_regex.pattern,
        frozenset(route.methods or ()),
        tuple((name, type(convertor)) for name, convertor in route.param_convertors.items()),
    )


def test_the_table_is_the_apps_route_table_in_order() -> None:
    app_routes = lazy_api.build().routes  # type: ignore[attr-defined]
    assert all(isinstance(route, Route) for route in app_routes)
    assert [_shape(route) for route in placeholder_routes()] == [_shape(route) for route in app_routes]
    assert len(OPERATIONS) == len(app_routes) == 27


def test_the_mounted_app_shows_the_table_and_builds_once() -> None:
    assert lazy_api.routes and all(isinstance(route, Route) for route in lazy_api.routes)
    assert lazy_api.build() is lazy_api.build()
    assert lazy_api.built


def _counting_build(calls: list[int]) -> Any:
    async def app(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"built"})

    def build() -> Any:
        calls.append(1)
        return app

    return build


def test_the_first_request_builds_the_app_and_later_ones_reuse_it() -> None:
    calls: list[int] = []
    lazy = LazyApi(build=_counting_build(calls))
    assert not lazy.built
    client = TestClient(Starlette(routes=[Mount("/decoda", app=lazy)]))
    assert [client.get("/decoda/attachments").text for _ in range(3)] == ["built"] * 3
    assert calls == [1]


@pytest.mark.parametrize("threads", [8])
def test_concurrent_first_uses_build_once(threads: int) -> None:
    calls: list[int] = []
    lazy = LazyApi(build=_counting_build(calls))
    barrier = threading.Barrier(threads)

    def use() -> None:
        barrier.wait()
        lazy.build()

    workers = [threading.Thread(target=use) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(10)
    assert calls == [1]
