"""The ``Sandbox``: every piece of state one app owns, reset in one call.

``app.build_sandbox`` makes one; ``create_app`` keeps it at ``app.state.sandbox``. Nothing lives at
module level, so two apps in one process (as in the tests) share nothing, moto state included.
"""

from __future__ import annotations

import copy
import hashlib
import json
import logging
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

STATE_FORMAT = 5
"""The shape of what a shared sandbox keeps in Redis (pickled records, upload URL claims, journal rows):
raised with any change to it, so processes of the same version but another shape start the namespace over
instead of misreading it."""

logger = logging.getLogger("mock_server.state")

if TYPE_CHECKING:  # storage sits above core; the app wires it in (see app.build_sandbox)
    from mock_server.core.shared import SharedState
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
    shared: SharedState | None = None
    """Where the state lives when several processes serve this sandbox (``--state-url``), else None."""
    joined: bool = False
    """Whether ``join_shared`` filled or joined the namespace (one found emptied later is refilled)."""

    def load_fixtures(self) -> None:
        """(Re)load the fixture files and hand each vendor its section.

        Raises: FixtureError naming the file, path and reason.
        """
        self._load_fixtures(into_store=True)

    def _load_fixtures(self, into_store: bool) -> None:
        schemas = {name: v.fixtures_schema or {"type": "object"} for name, v in self.vendors.items()}
        rules = {name: vendor.fixture_rules for name, vendor in self.vendors.items()}
        if self.fixture_data is not None:
            # Parsed once and shared by sessions: each gets its own copy to hand the vendors.
            self.fixtures = copy.deepcopy(self.fixture_data)
        else:
            self.fixtures = load_fixtures(self.settings.fixtures, schemas, rules)
        if not into_store:
            return
        self.store.loading = True
        try:
            for name, vendor in self.vendors.items():
                if vendor.load_fixtures is not None:
                    vendor.load_fixtures(self, self.fixtures.get(name, {}))
        finally:
            self.store.loading = False

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
        wholly before the reset (and is wiped by it) or is refused. With shared state, the namespace is
        emptied and refilled under the cross-process lock, and the other processes follow at their next
        request (``sync``).
        """
        with self.store.transaction():
            if self.shared is not None:
                self.shared.flush()
                self._renew_namespace()
            else:
                self.generation += 1
            self._reset_all()
            if self.shared is not None:
                self.shared.redis.hset(self.shared.key("meta"), "ready", self._made_from())

    # -- several processes over one state (core/shared.py) ------------------------------------------
    def join_shared(self) -> None:
        """Take part in the shared state at start: the first process (or the first after the namespace was
        emptied) loads the fixtures into it; the others read them only for their own reference.

        Raises: FixtureError when a fixture file is broken.
        """
        assert self.shared is not None
        self.clock.on_change = self._publish_clock
        with self.shared.lock():
            meta = self.shared.key("meta")
            self._load_fixtures(into_store=False)
            # What the namespace was filled from: another version of the package (its records are
            # pickled) or other fixtures or seed start it over; the same ones join it as it is.
            made_from = self._made_from()
            if self.shared.redis.hget(meta, "ready") != made_from.encode():
                self._renew_namespace()
                self.load_fixtures()
                self.shared.redis.hset(meta, "ready", made_from)
        self.joined = True
        self.sync()

    def _refill(self) -> bool:
        """The namespace was emptied under the running processes (the Redis server restarted without
        persistence, or was flushed): load the fixtures again, as at start, once for every process (the
        first to notice does it under the lock). A session's namespace is not refilled: its registry went
        with it, so the session is gone. Returns: whether this process refilled it."""
        assert self.shared is not None
        meta = self.shared.key("meta")
        with self.store.transaction():
            if self.shared.redis.hget(meta, "ready") is not None:
                return False
            logger.warning(
                "the shared state in Redis was emptied (restarted or flushed): loading the fixtures again"
            )
            # Past every generation the processes knew, so each of them drops what it read before.
            known = max(int(self.shared.redis.hget(meta, "generation") or 0), self.generation)
            self.shared.redis.hset(meta, "generation", known)
            self.reset()
        return True

    def _made_from(self) -> str:
        from mock_server import __version__

        made_of = [__version__, STATE_FORMAT, self.settings.seed, self.fixtures]
        text = json.dumps(made_of, sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()

    def _renew_namespace(self) -> None:
        """Empty the namespace, keeping (and advancing) its generation number."""
        assert self.shared is not None
        meta = self.shared.key("meta")
        generation = int(self.shared.redis.hget(meta, "generation") or 0) + 1
        # The objects' body files in the spool directory go first (their index is about to be cleared).
        self.storage.objects.drop_uploads()
        self.storage.objects.reset()
        self.shared.clear()
        self.shared.redis.hset(meta, "generation", generation)
        self.generation = generation
        for vendor in self.vendors.values():  # the buckets stay, as one process keeps them
            for bucket in vendor.buckets:
                self.storage.objects.ensure_bucket(bucket)

    def _publish_clock(self, offset: float, frozen_at: float | None) -> None:
        assert self.shared is not None
        frozen = "" if frozen_at is None else repr(frozen_at)
        self.shared.redis.hset(self.shared.key("meta"), mapping={"offset": repr(offset), "frozen": frozen})

    def sync(self) -> None:
        """Catch up with the other processes (one round trip): the clock, and after a reset made by
        another process, this process's own caches (the scenario engine's and the object store's)."""
        if self.shared is None:
            return
        self._follow(self.shared.send(self._sync_commands()))

    async def sync_async(self) -> None:
        """``sync`` without holding up the event loop: its round trip may carry other requests' too
        (core/shared_commit.py)."""
        if self.shared is None:
            return
        self._follow(await self.shared.commit(self._sync_commands(), read_only=True))

    def _sync_commands(self) -> list[tuple[str, ...]]:
        # One round trip: the clock, resets, the record count, the record kinds' versions and the
        # scenario engine's version.
        meta = self.shared.key("meta")  # type: ignore[union-attr]
        commands = [("HGETALL", meta)]
        version_key = getattr(self.scenarios, "version_key", None)
        if version_key is not None:
            commands.append(("GET", version_key))
        return commands

    def _follow(self, answers: list[Any]) -> None:
        meta: dict[bytes, bytes] = answers[0]
        if b"ready" not in meta and self.joined and self.name == "default" and self._refill():
            self.sync()  # what the refill left; a second emptying in between is followed next request
            return
        generation, offset, frozen = meta.get(b"generation"), meta.get(b"offset"), meta.get(b"frozen")
        writes = self.shared.pending()  # type: ignore[union-attr]
        if (
            writes is not None
        ):  # the record count and kinds' versions, for this request (core/shared_store.py)
            writes.cache["rec-count"] = int(meta.get(b"records") or 0)
            writes.cache["versions"] = meta
        self.clock.restore(float(offset or 0.0), float(frozen) if frozen else None)
        if generation is not None and int(generation) != self.generation:
            self.generation = int(generation)
            for part in (self.store, self.scenarios, self.storage.objects, self.journal):
                follow = getattr(part, "follow_reset", None)
                if follow is not None:
                    follow()
        if len(answers) > 1:
            self.scenarios.sync_each_request = False  # type: ignore[union-attr]
            self.scenarios.sync(answers[1])  # type: ignore[union-attr]

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
