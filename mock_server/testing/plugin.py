"""pytest plugin (registered as the ``vendor_sandbox`` pytest11 entry point).

Fixtures:
- ``vendor_sandbox_server``: one in-process sandbox per test session, on a free port.
- ``vendor_sandbox``: that server, reset before each test; ``.url``, ``.admin`` (an ``AdminClient``),
  ``.advance(seconds)``, ``.requests(**filters)``, ``.load_scenario(path)``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from mock_server.testing.admin_client import AdminClient


@dataclass
class SandboxHandle:
    url: str
    admin: AdminClient

    def advance(self, seconds: float) -> dict[str, Any]:
        return self.admin.advance(seconds)

    def requests(self, **filters: Any) -> list[dict[str, Any]]:
        return self.admin.requests(**filters)

    def load_scenario(self, path: str | Path) -> dict[str, Any]:
        return self.admin.load_scenario(path)


@pytest.fixture(scope="session")
def vendor_sandbox_server() -> Iterator[Any]:
    from mock_server.testing.server import LiveServer

    with LiveServer() as server:
        yield server


@pytest.fixture
def vendor_sandbox(vendor_sandbox_server: Any) -> SandboxHandle:
    admin = AdminClient(vendor_sandbox_server.url)
    admin.reset()
    return SandboxHandle(vendor_sandbox_server.url, admin)
