"""Optional: how the in-process sandbox starts (ignored with --vendor-sandbox-url)."""

import pytest

from mock_server.settings import Settings


@pytest.fixture(scope="session")
def vendor_sandbox_settings():
    # Same generated ids and tokens on every run; add fixtures=(...) or scenarios=(...) for your own files.
    return Settings(seed=1234)
