"""The typed admin API client: ``from mock_server.client import AdminClient``.

It lives in ``mock_server.testing.admin_client`` (next to the pytest plugin that uses it); this
module is its public name.
"""

from __future__ import annotations

from mock_server.testing.admin_client import (
    AdminClient,
    AdminError,
    ClockState,
    Health,
    RequestEntry,
    ScenarioInfo,
    SessionInfo,
    StoredObject,
    VendorInfo,
)

__all__ = [
    "AdminClient",
    "AdminError",
    "ClockState",
    "Health",
    "RequestEntry",
    "ScenarioInfo",
    "SessionInfo",
    "StoredObject",
    "VendorInfo",
]
