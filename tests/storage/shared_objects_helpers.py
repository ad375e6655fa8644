"""Fixtures that give a test's sandbox a ``SharedObjectStore`` in place of its in-process one, and
``rerun`` to collect another module's tests again under them (``test_shared_objects*.py``)."""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from starlette.applications import Starlette

from mock_server.app import create_app
from mock_server.core.sandbox import Sandbox
from mock_server.core.shared import SharedState
from mock_server.settings import Settings
from mock_server.storage.shared_objects import SharedObjectStore
from mock_server.testing.server import LiveServer


def share_objects(sandbox: Sandbox, shared_state: SharedState, spool: Path) -> Iterator[SharedObjectStore]:
    """Swap ``sandbox``'s object store for a shared one (with the same caps and buckets, fixtures
    reloaded into it) until the generator is resumed."""
    original = sandbox.storage.objects
    shared = SharedObjectStore(
        shared_state, spool, original.region, max_objects=original.max_objects, max_bytes=original.max_bytes
    )
    shared.session_max_bytes = original.session_max_bytes
    for bucket in original.buckets():  # as build_sandbox makes the vendors' buckets
        shared.ensure_bucket(bucket)
    sandbox.storage.objects = shared  # type: ignore[assignment]
    try:
        sandbox.reset()
        yield shared
    finally:
        sandbox.storage.objects = original
        shared.purge()


@pytest.fixture
def spool(tmp_path: Path) -> Path:
    return tmp_path / "spool"


@pytest.fixture
def app(settings: Settings, shared_state: SharedState, spool: Path) -> Iterator[Starlette]:
    """A fresh app whose sandbox keeps its objects in a shared store."""
    application = create_app(settings)
    try:
        yield from (application for _ in share_objects(application.state.sandbox, shared_state, spool))
    finally:
        application.state.sandbox.close()


@pytest.fixture
def live(live_server: LiveServer, shared_state: SharedState, spool: Path) -> Iterator[LiveServer]:
    """The session's live server with its objects in a shared store, reset for this test."""
    try:
        yield from (live_server for _ in share_objects(live_server.sandbox, shared_state, spool))
    finally:
        live_server.sandbox.reset()


def rerun(module: ModuleType) -> dict[str, Any]:
    """The tests, test classes and fixtures defined in ``module``, to put in another module's globals."""
    return {
        name: value
        for name, value in vars(module).items()
        if getattr(value, "__module__", None) == module.__name__
        and (name.startswith(("test_", "Test")) or "Fixture" in type(value).__name__)
        and (inspect.isfunction(value) or inspect.isclass(value) or "Fixture" in type(value).__name__)
    }
