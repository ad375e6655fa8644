"""One app per test module for the hostile-input suites: magic ids off, server errors as responses."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient

from mock_server.app import create_app
from mock_server.settings import Settings


@pytest.fixture(scope="module")
def quiet_app() -> Iterator[Starlette]:
    """An app without the magic-id scenarios, so every status comes from the vendor code under test."""
    application = create_app(Settings(seed=5, default_scenarios=False))
    yield application
    application.state.sandbox.close()


@pytest.fixture(scope="module")
def quiet_client(quiet_app: Starlette) -> Iterator[TestClient]:
    """A 500 is answered like any status (and then fails the test's assertion), not raised."""
    with TestClient(quiet_app, base_url="http://127.0.0.1:8080", raise_server_exceptions=False) as client:
        yield client
