"""Shared fixtures: a fresh app per test (in-process), its clock, and a live server where sockets matter."""

from __future__ import annotations

import functools
import logging
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient

import mock_server.app
from mock_server.app import create_app
from mock_server.core.clock import Clock
from mock_server.core.openapi import OpenApiDocument, issues_of
from mock_server.core.sandbox import Sandbox
from mock_server.core.store import Store
from mock_server.settings import Settings
from mock_server.testing.server import LiveServer

# pytest-xdist modes that hand out tests by node id: items sharing one are merged and all but one never
# run. Schemathesis' items (tests/reliability/test_fuzz_*.py, one per API operation) share their test
# function's node id, so `make test` uses the default mode, which hands out tests by position.
_BY_NODE_ID = {"loadscope", "loadfile", "loadgroup"}


def _refuse_shared_node_ids(config: pytest.Config, nodeids: list[str]) -> None:
    if getattr(config.option, "dist", "no") in _BY_NODE_ID:
        shared = sorted(nodeid for nodeid, count in Counter(nodeids).items() if count > 1)
        if shared:
            raise pytest.UsageError(
                f"--dist {config.option.dist} would run one of the tests sharing each of these node ids "
                f"and silently drop the rest: {', '.join(shared)}; use --dist load (the default)"
            )


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_node_collection_finished(node: Any, ids: list[str]) -> None:
    """Run by pytest-xdist's controller with each worker's collection."""
    _refuse_shared_node_ids(node.config, ids)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--store-shares-records",
        action="store_true",
        help="let the record store hand out its own objects (the default for users) instead of copies",
    )


@pytest.fixture(scope="session", autouse=True)
def _store_copies_on_read(request: pytest.FixtureRequest) -> Iterator[None]:
    """Every sandbox built in this process copies records on read, as a shared backend does: vendor code
    that changes a record without ``store.put`` fails its tests here (see ``Store``). Session-scoped so
    that session fixtures (``live_server``) are built after it; servers in subprocesses are not covered.
    """
    if request.config.getoption("--store-shares-records"):
        yield
        return
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(mock_server.app, "Store", functools.partial(Store, copy_on_read=True))
        yield


@pytest.fixture(autouse=True)
def _restore_sandbox_logging() -> Iterator[None]:
    """Tests that run ``mock-server serve`` configure its logger; later tests should not inherit that."""
    logger = logging.getLogger("mock_server")
    saved = (list(logger.handlers), logger.level, logger.propagate)
    yield
    logger.handlers[:], logger.level, logger.propagate = saved[0], saved[1], saved[2]


@pytest.fixture
def settings() -> Settings:
    return Settings(seed=1234)


@pytest.fixture
def app(settings: Settings) -> Iterator[Starlette]:
    application = create_app(settings)
    yield application
    application.state.sandbox.close()


@pytest.fixture
def sandbox(app: Starlette) -> Sandbox:
    return app.state.sandbox


@pytest.fixture
def client(app: Starlette) -> Iterator[TestClient]:
    with TestClient(app, base_url="http://127.0.0.1:8080", raise_server_exceptions=True) as test_client:
        yield test_client


@pytest.fixture
def clock(sandbox: Sandbox) -> Clock:
    return sandbox.clock


@pytest.fixture(scope="session")
def live_server() -> Iterator[LiveServer]:
    with LiveServer(Settings(seed=99)) as server:
        yield server


@pytest.fixture
def live(live_server: LiveServer) -> LiveServer:
    """The session's live server, reset for this test."""
    live_server.sandbox.reset()
    return live_server


_documents: dict[str, OpenApiDocument] = {}


@pytest.fixture
def validate_response(sandbox: Sandbox) -> Callable[..., Any]:
    """``validate_response("qubs", "createReportAttachments", response)``: the body matches the spec."""

    def check(vendor: str, operation_id: str, response: Any, media_type: str | None = None) -> Any:
        path = sandbox.vendors[vendor].openapi_path
        assert path is not None, f"{vendor} has no OpenAPI document"
        document = _documents.setdefault(vendor, OpenApiDocument(path))
        media = media_type or response.headers.get("content-type", "application/json").split(";")[0]
        validator = document.response_validator(operation_id, response.status_code, media)
        body = response.json() if "json" in media else response.text
        if validator is not None:
            problems = issues_of(validator, body)
            assert not problems, f"{operation_id} {response.status_code}: {problems}"
        return body

    return check


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """A ``redis-server`` of this test process (skips with the reason when Debian's redis-server is
    missing; `.ci/run` installs it)."""
    from mock_server.testing import redis_server

    if not redis_server.available():
        pytest.skip("redis-server is not installed (apt-get install redis-server)")
    with redis_server.RedisServer() as server:
        yield server.url


@pytest.fixture
def shared_state(redis_url: str, request: pytest.FixtureRequest) -> Iterator[Any]:
    """A ``SharedState`` in a namespace of this test's own, emptied afterwards."""
    import uuid

    from mock_server.core.shared import SharedState, connect

    state = SharedState(connect(redis_url), f"test-{uuid.uuid4().hex[:12]}")
    yield state
    state.clear()
    state.redis.delete(state.key("lock"))
    state.redis.close()
