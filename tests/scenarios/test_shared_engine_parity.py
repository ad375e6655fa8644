"""The in-process engine's own tests, run again with the engine over shared state (one process)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from starlette.applications import Starlette

from mock_server.app import create_app
from mock_server.core.shared import SharedState
from mock_server.scenarios.shared_engine import SharedScenarioEngine
from mock_server.settings import Settings
from tests.scenarios import test_scenario_admin as admin_tests
from tests.scenarios import test_scenario_engine as engine_tests
from tests.scenarios.test_scenario_engine import engine, uploads  # noqa: F401 - fixtures

# Draws come from a hash shared by every process, not the in-process random stream (shared_engine.py).
DIFFERENT_BY_DESIGN = {"test_probability_is_reproducible_with_its_seed"}


@pytest.fixture
def app(settings: Settings, shared_state: SharedState) -> Iterator[Starlette]:
    application = create_app(settings)
    sandbox = application.state.sandbox
    sandbox.shared = shared_state
    sandbox.scenarios = SharedScenarioEngine.from_settings(sandbox)
    yield application
    sandbox.close()


for _module in (engine_tests, admin_tests):
    for _name in dir(_module):
        if _name.startswith("test_") and _name not in DIFFERENT_BY_DESIGN:
            globals()[_name] = getattr(_module, _name)
