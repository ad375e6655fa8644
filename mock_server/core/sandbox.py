"""The ``Sandbox``: every piece of state one app owns, reset in one call.

``app.build_sandbox`` makes one; ``create_app`` keeps it at ``app.state.sandbox``. Nothing lives at
module level, so two apps in one process (as in the tests) share nothing, moto state included.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from starlette.requests import HTTPConnection

from mock_server.core.clock import Clock
from mock_server.core.errors import SandboxError
from mock_server.core.fixtures import load_fixtures
from mock_server.core.idempotency import IdempotencyStore
from mock_server.core.ids import Ids
from mock_server.core.journal import Journal
from mock_server.core.store import Store
from mock_server.core.vendor import Vendor
from mock_server.settings import Settings

if TYPE_CHECKING:  # storage sits above core; the app wires it in (see app.build_sandbox)
    from mock_server.storage.service import Storage


class ScenarioEngine(Protocol):
    """What the core needs of the scenario engine (which lives in a higher layer)."""

    def reset(self) -> None:
        """Back to the start-up scenarios, counters and states."""


class ResetDuringRequest(SandboxError):
    """The sandbox was reset while this request was being handled; nothing it did was kept."""

    status = 503
    code = "reset-during-request"
    default_message = "The sandbox was reset while this request was being handled; nothing was stored."


@dataclass
class Sandbox:
    """All state of one app, built by ``create_app`` and reset by ``POST /__admin/reset``: settings,
    the one clock, seeded ids, the record store, idempotency keys, the journal, the embedded S3, the
    vendors and (once attached) the scenario engine."""

    settings: Settings
    clock: Clock
    ids: Ids
    store: Store
    idempotency: IdempotencyStore
    journal: Journal
    storage: Storage
    vendors: dict[str, Vendor]
    fixtures: dict[str, dict[str, Any]] = field(default_factory=dict)
    scenarios: ScenarioEngine | None = None
    # A session's own: its name, the path prefix its URLs carry (``/~s/<name>``) and, when it was
    # created with fixtures of its own, those already parsed (used instead of the fixture files).
    name: str = "default"
    path_prefix: str = ""
    fixture_data: dict[str, dict[str, Any]] | None = None
    generation: int = 0
    """How many resets happened; work that spans an ``await`` or a thread commits only if unchanged."""

    def load_fixtures(self) -> None:
        """(Re)load the fixture files and hand each vendor its section.

        Raises: FixtureError naming the file, path and reason.
        """
        schemas = {name: v.fixtures_schema or {"type": "object"} for name, v in self.vendors.items()}
        rules = {name: vendor.fixture_rules for name, vendor in self.vendors.items()}
        if self.fixture_data is not None:
            # Parsed once and shared by sessions: each gets its own copy to hand the vendors.
            self.fixtures = copy.deepcopy(self.fixture_data)
        else:
            self.fixtures = load_fixtures(self.settings.fixtures, schemas, rules)
        for name, vendor in self.vendors.items():
            if vendor.load_fixtures is not None:
                vendor.load_fixtures(self, self.fixtures.get(name, {}))

    def base_url(self, request: HTTPConnection) -> str:
        """Where generated URLs point: the public-URL setting, else the caller's scheme and Host, then
        the session's path prefix (``/~s/<name>``; empty for the default session), so a URL followed by
        a plain HTTP client lands in the session that issued it."""
        if self.settings.public_url:
            return self.settings.public_url.rstrip("/") + self.path_prefix
        host = request.headers.get("host") or f"{self.settings.host}:{self.settings.port}"
        # The scope's scheme, as ``request.url.scheme`` gives it, without building the whole URL.
        return f"{request.scope.get('scheme', 'http').lower()}://{host}{self.path_prefix}"

    def lifetime(self, request: HTTPConnection, default: float) -> float:
        """Lifetime for a URL, policy or token issued while serving ``request``.

        A scenario may shorten it (or make it <= 0: issued already expired) through request state.
        """
        # The scope's state dict itself: ``request.state`` answers a missing name with an exception.
        override = request.scope.get("state", {}).get("lifetime_override")
        return default if override is None else float(override)

    def check_generation(self, started: int) -> None:
        """Call inside ``store.transaction()`` before committing work begun at generation ``started``.

        Raises: ResetDuringRequest when a reset happened since (the caller then undoes its writes).
        """
        if self.generation != started:
            raise ResetDuringRequest()

    def reset(self) -> None:
        """Back to the state right after start: data, journal, keys, objects, clock, fixtures.

        Runs inside the store's transaction, so a commit guarded by ``check_generation`` lands either
        wholly before the reset (and is wiped by it) or is refused.
        """
        with self.store.transaction():
            self.generation += 1
            self._reset_all()

    def _reset_all(self) -> None:
        self.clock.reset()
        self.ids.reset()
        self.store.reset()
        self.idempotency.reset()
        self.journal.reset()
        self.storage.reset()
        if self.scenarios is not None:
            self.scenarios.reset()
        self.load_fixtures()

    def close(self) -> None:
        """Release what outlives the app otherwise: this sandbox's buckets in moto's process-wide state
        and the scenario engine's file watcher."""
        self.storage.objects.close()
        if self.scenarios is not None:
            self.scenarios.close()
