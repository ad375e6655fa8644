"""The in-process journal's tests, and the admin API's journal tests, run again over the Redis journal."""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from types import FunctionType
from typing import Any

import pytest
from starlette.applications import Starlette

from mock_server.app import create_app
from mock_server.core.shared import SharedState
from mock_server.core.shared_journal import SharedJournal
from mock_server.settings import Settings
from tests.admin import test_admin_dashboard_api as dashboard_tests
from tests.admin import test_admin_paging as paging_tests
from tests.admin import test_admin_routes as route_tests
from tests.admin.test_admin_paging import listing, settings  # noqa: F401 - fixtures of the paging tests
from tests.core import test_journal as journal_tests

PLAIN = sorted(
    name
    for name, function in vars(journal_tests).items()
    if name.startswith("test_") and callable(function) and not inspect.signature(function).parameters
)


@pytest.mark.parametrize("name", PLAIN)
def test_the_in_process_journal_test_passes_over_redis(name: str, shared_state: SharedState) -> None:
    original = getattr(journal_tests, name)

    def journal(*args: Any, **options: Any) -> SharedJournal:
        shared_state.clear()
        return SharedJournal(shared_state, *args, **options)

    FunctionType(original.__code__, {**original.__globals__, "Journal": journal})()


@pytest.fixture
def app(settings: Settings, shared_state: SharedState) -> Iterator[Starlette]:  # noqa: F811
    application = create_app(settings)
    sandbox = application.state.sandbox
    sandbox.journal = SharedJournal(shared_state, settings.journal_size)
    yield application
    sandbox.close()


for _module in (paging_tests, route_tests, dashboard_tests):
    for _name in dir(_module):
        if _name.startswith("test_"):
            globals()[_name] = getattr(_module, _name)
