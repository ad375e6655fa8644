"""X-Forwarded-For is believed only from the proxies the ``trusted_proxies`` setting lists.

Candid's per-IP rate limit counts the client address; a direct client that rotates X-Forwarded-For
must still be one client.
"""

from __future__ import annotations

import pytest
import requests

from mock_server.settings import Settings
from mock_server.testing.server import LiveServer
from mock_server.vendors.candid.auth import configure_rate_limit

ENCOUNTER = "/candid/api/encounter-attachments/v1/d5e9c84f-c2b2-4bf4-b4b0-7ffd7a9ffc32"
AUTH = {"Authorization": "Bearer candid-dev-token"}


def _statuses(live: LiveServer, count: int) -> list[int]:
    configure_rate_limit(live.sandbox, requests=3, window_seconds=600)
    return [
        requests.get(
            live.url + ENCOUNTER, headers={**AUTH, "X-Forwarded-For": f"203.0.113.{n}"}, timeout=10
        ).status_code
        for n in range(count)
    ]


def test_rotating_x_forwarded_for_does_not_bypass_the_rate_limit() -> None:
    with LiveServer(Settings(default_scenarios=False)) as live:
        statuses = _statuses(live, 6)
    assert statuses[3:] == [429, 429, 429]


@pytest.mark.parametrize("proxies", [("127.0.0.1",), ("10.0.0.0/8", "127.0.0.1")])
def test_a_trusted_proxy_forwards_each_clients_address(proxies: tuple[str, ...]) -> None:
    with LiveServer(Settings(default_scenarios=False, trusted_proxies=proxies)) as live:
        statuses = _statuses(live, 6)
    assert 429 not in statuses
