"""pytest plugin, active once vendor-sandbox is installed (``pytest11`` entry point ``vendor_sandbox``).

Fixtures:

- ``vendor_sandbox``: the sandbox, reset before each test (records, journal, idempotency keys,
  stored objects, clock, fixtures, scenarios). A ``SandboxHandle``: ``.url``, ``.base_url("qubs")``,
  ``.admin`` (the typed ``AdminClient``) and helpers ``.load_scenario()``, ``.advance()``,
  ``.freeze()``, ``.requests()`` (the journal), ``.objects()``.
- ``vendor_sandbox_server`` (session): the server itself, started once per test session in this
  process on a free port (a pre-bound socket, so no port race), or, with
  ``--vendor-sandbox-url URL``, a sandbox that is already running (a CI service container).
- ``vendor_sandbox_settings`` (session): the ``Settings`` the in-process server starts with;
  override it in your ``conftest.py`` to use your own fixture or scenario files.
- ``vendor_sandbox_admin_token`` (session): the admin token the ``AdminClient`` sends:
  ``--vendor-sandbox-admin-token`` (ini ``vendor_sandbox_admin_token``), else the in-process
  server's ``Settings.admin_token``; ``None`` when the admin API is open.

PYTEST_DONT_REWRITE: the module asserts nothing, and may be imported (for ``SandboxHandle``) before
pytest registers it.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

import pytest
import requests

from mock_server.settings import Settings
from mock_server.testing.admin_client import AdminClient, AdminError, ClockState, RequestEntry, StoredObject

URL_OPTION = "--vendor-sandbox-url"
URL_INI = "vendor_sandbox_url"
TOKEN_OPTION = "--vendor-sandbox-admin-token"
TOKEN_INI = "vendor_sandbox_admin_token"


class Server(Protocol):
    """What the fixtures need of a running sandbox: its base URL."""

    url: str


@dataclass(frozen=True)
class RemoteServer:
    """A sandbox started elsewhere (``docker run``, a CI ``services:`` container)."""

    url: str


@dataclass
class SandboxHandle:
    """What the ``vendor_sandbox`` fixture gives a test: the server's ``url`` and an ``admin`` client."""

    url: str
    admin: AdminClient

    def base_url(self, vendor: str) -> str:
        """``<url>/<vendor>``: where the vendor's API is mounted (``storage`` is ``<url>/s3``)."""
        return f"{self.url}/s3" if vendor == "storage" else f"{self.url}/{vendor}"

    def load_scenario(self, scenario: str | Path | Mapping[str, Any]) -> list[str]:
        """Add scenarios (file, YAML text or dict) for this test; the next reset removes them."""
        return self.admin.load_scenario(scenario)

    def advance(self, seconds: float) -> ClockState:
        """Move the sandbox clock: ``advance(901)`` expires what was issued for 900 seconds."""
        return self.admin.advance(seconds)

    def freeze(self, instant: str | datetime | None = None) -> ClockState:
        """Stop the sandbox clock, at ``instant`` or now."""
        return self.admin.freeze(instant)

    def requests(self, *, include_admin: bool = False, **filters: Any) -> list[RequestEntry]:
        """The journal, newest first, filtered by vendor, operation, method, path, status, ...

        Calls to the admin API itself (these helpers' own, journaled apart) are left out unless
        ``include_admin``.
        """
        entries = self.admin.requests(**filters)
        if include_admin and "vendor" not in filters:
            entries += self.admin.requests(vendor="admin", **filters)
            entries.sort(key=lambda entry: entry.id, reverse=True)
        return entries

    def objects(self, bucket: str | None = None, prefix: str = "") -> list[StoredObject]:
        """Objects in the embedded S3, optionally one bucket's and under a key ``prefix``."""
        return self.admin.objects(bucket, prefix)


def pytest_addoption(parser: pytest.Parser) -> None:
    """``--vendor-sandbox-url`` (and the ``vendor_sandbox_url`` ini key): use a running sandbox."""
    group = parser.getgroup("vendor-sandbox")
    help_text = "use the vendor-sandbox running at this URL instead of starting one in-process"
    group.addoption(URL_OPTION, dest="vendor_sandbox_url", default=None, metavar="URL", help=help_text)
    parser.addini(URL_INI, help_text, default="")
    token_help = "admin token of the vendor-sandbox (its --admin-token / MOCK_SERVER_ADMIN_TOKEN)"
    group.addoption(
        TOKEN_OPTION, dest="vendor_sandbox_admin_token", default=None, metavar="TOKEN", help=token_help
    )
    parser.addini(TOKEN_INI, token_help, default="")


@pytest.fixture(scope="session")
def vendor_sandbox_settings() -> Settings:
    """Settings of the in-process server; the port is always a free one."""
    return Settings()


@pytest.fixture(scope="session")
def vendor_sandbox_admin_token(
    request: pytest.FixtureRequest, vendor_sandbox_settings: Settings
) -> str | None:
    """The admin token to send (option, then ini, then the in-process server's settings)."""
    given = request.config.getoption("vendor_sandbox_admin_token") or request.config.getini(TOKEN_INI)
    return given or vendor_sandbox_settings.admin_token


@pytest.fixture(scope="session")
def vendor_sandbox_server(
    request: pytest.FixtureRequest, vendor_sandbox_settings: Settings, vendor_sandbox_admin_token: str | None
) -> Iterator[Server]:
    """One sandbox per test session: the running one at the configured URL (checked healthy,
    else the session fails), or an in-process server on a free port."""
    url = request.config.getoption("vendor_sandbox_url") or request.config.getini(URL_INI)
    if url:
        remote = RemoteServer(url.rstrip("/"))
        try:
            AdminClient(remote.url, token=vendor_sandbox_admin_token).health()
        except (requests.RequestException, AdminError) as exc:
            pytest.fail(f"no healthy vendor-sandbox answers at {remote.url}: {exc}", pytrace=False)
        yield remote
        return
    from mock_server.testing.server import LiveServer

    with LiveServer(vendor_sandbox_settings) as server:
        yield server


@pytest.fixture
def vendor_sandbox(
    vendor_sandbox_server: Server, vendor_sandbox_admin_token: str | None
) -> Iterator[SandboxHandle]:
    """The session's sandbox, reset to its start-up state before the test."""
    admin = AdminClient(vendor_sandbox_server.url, token=vendor_sandbox_admin_token)
    admin.reset()
    yield SandboxHandle(vendor_sandbox_server.url, admin)
    admin.session.close()
