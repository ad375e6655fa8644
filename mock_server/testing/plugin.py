"""pytest plugin, active once vendor-sandbox is installed (``pytest11`` entry point ``vendor_sandbox``).

Fixtures:

- ``vendor_sandbox``: the sandbox, reset before each test (records, journal, idempotency keys,
  stored objects, clock, fixtures, scenarios). Against a running sandbox (``--vendor-sandbox-url``)
  each test gets a session of its own instead (``POST /__admin/sessions``, deleted after the test):
  ``.url`` is the session's base URL (``<server>/~s/<name>``), so tests in parallel (``pytest -n``,
  several CI jobs) against one server never see each other's state.
  A ``SandboxHandle``: ``.url``, ``.base_url("qubs")``,
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
from mock_server.testing.admin_client import (
    AdminClient,
    AdminError,
    ClockState,
    RequestEntry,
    SessionInfo,
    StoredObject,
)

URL_OPTION = "--vendor-sandbox-url"
URL_INI = "vendor_sandbox_url"
# A test's session outlives a test run killed midway by at most this long (real seconds).
KEEP_SESSION_SECONDS = 3600
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


FAILED = pytest.StashKey[bool]()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """Remember whether a test failed, so its session is kept for inspection."""
    outcome = yield
    if outcome.get_result().failed:  # type: ignore[attr-defined]
        item.stash[FAILED] = True


def _keep_for_inspection(node: pytest.Item, session: SessionInfo, admin: AdminClient) -> None:
    """A failed test's session stays (until its time-to-live) and its journal goes into the report."""
    lines = [f"session kept for inspection until {session.expires_at}: {session.base_url}/__admin/"]
    try:
        for entry in admin.requests(limit=50):
            lines.append(f"  {entry.method} {entry.path} -> {entry.status} ({entry.operation})")
    except (requests.RequestException, AdminError) as exc:
        lines.append(f"  (journal not readable: {exc})")
    node.add_report_section("teardown", "vendor-sandbox", "\n".join(lines))


@pytest.fixture
def vendor_sandbox(
    vendor_sandbox_server: Server, vendor_sandbox_admin_token: str | None, request: pytest.FixtureRequest
) -> Iterator[SandboxHandle]:
    """A fresh sandbox for the test: a session of its own on a running server (deleted afterwards,
    or kept until its time-to-live when the test failed; a server without sessions is reset instead),
    the in-process server reset to its start-up state."""
    admin = AdminClient(vendor_sandbox_server.url, token=vendor_sandbox_admin_token)
    created = None
    if isinstance(vendor_sandbox_server, RemoteServer):
        try:
            created = admin.create_session(ttl_seconds=KEEP_SESSION_SECONDS)
        except AdminError as exc:
            if exc.status not in (404, 405):  # an older server without sessions: share it, reset
                raise
    if created is None:
        admin.reset()
        yield SandboxHandle(vendor_sandbox_server.url, admin)
    else:
        own = admin.for_session(created)
        yield SandboxHandle(created.base_url, own)
        if request.node.stash.get(FAILED, False):
            _keep_for_inspection(request.node, created, own)
        else:
            admin.delete_session(created.name)
    admin.session.close()
