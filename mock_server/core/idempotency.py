"""Idempotency keys: replay the stored response, refuse a reused key with another payload.

A key lives in a scope (for example client + domain + route) for a TTL measured on the sandbox
clock. ``run`` is race-safe: concurrent requests with one key are serialised on a per-key lock,
so the first creates and the later ones replay its stored response byte for byte.

Bounded: a per-key lock lives only while a request with that key is running or waiting; expired
entries are dropped on read and swept every ``SWEEP_EVERY`` stores; at most ``max_keys`` live keys
are held, after which a new key is refused with ``IdempotencyStoreFull`` (507, rendered in the
vendor's format) until keys expire or the sandbox is reset.
"""

from __future__ import annotations

import hashlib
import json
import math
import threading
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field

from mock_server.core.clock import Clock
from mock_server.core.errors import SandboxError


@dataclass(frozen=True)
class StoredResponse:
    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class _Entry:
    fingerprint: str
    response: StoredResponse
    expires_at: float


class IdempotencyConflict(SandboxError):
    """The key was already used with a different payload."""

    status = 409
    code = "conflict"
    default_message = "The Idempotency-Key was already used with a different request payload."


def fingerprint(payload: object) -> str:
    """Canonical JSON hash: key order and whitespace do not change the fingerprint."""
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class IdempotencyStoreFull(SandboxError):
    """Every slot for live idempotency keys is taken (the sandbox's own bound, not a vendor rule)."""

    status = 507
    code = "idempotency-store-full"
    default_message = "The sandbox holds its maximum of live idempotency keys; retry later or reset it."


DEFAULT_MAX_KEYS = 50_000
SWEEP_EVERY = 1024


class _KeyLock:
    """A per-key lock and how many requests hold or wait for it (dropped when none do)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.users = 0


class IdempotencyStore:
    def __init__(self, clock: Clock, max_keys: int = DEFAULT_MAX_KEYS) -> None:
        self._clock = clock
        self.max_keys = max_keys
        self._guard = threading.Lock()
        self._entries: dict[tuple[Hashable, str], _Entry] = {}
        self._key_locks: dict[tuple[Hashable, str], _KeyLock] = {}
        self._calls = 0
        self._next_expiry = math.inf  # no entry expires before this (the earliest expiry, or later)

    def run(
        self,
        scope: Hashable,
        key: str,
        payload_fingerprint: str,
        ttl_seconds: float,
        produce: Callable[[], StoredResponse],
    ) -> tuple[StoredResponse, bool]:
        """Return ``(response, replayed)``.

        ``produce`` runs at most once per live key; when it raises, nothing is stored and the key
        stays free, so a failed request can be retried with the same key.

        Raises:
            IdempotencyConflict: if the live key was stored with another fingerprint.
            IdempotencyStoreFull: for a new key when ``max_keys`` live keys are held.
        """
        slot = (scope, key)
        with self._guard:
            key_lock = self._key_locks.setdefault(slot, _KeyLock())
            key_lock.users += 1
        try:
            with key_lock.lock:
                return self._run_locked(slot, payload_fingerprint, ttl_seconds, produce)
        finally:
            with self._guard:
                key_lock.users -= 1
                if key_lock.users == 0:
                    del self._key_locks[slot]

    def _run_locked(
        self,
        slot: tuple[Hashable, str],
        payload_fingerprint: str,
        ttl_seconds: float,
        produce: Callable[[], StoredResponse],
    ) -> tuple[StoredResponse, bool]:
        entry = self._live_entry(slot)
        if entry is not None:
            if entry.fingerprint != payload_fingerprint:
                raise IdempotencyConflict()
            return entry.response, True
        self._make_room()
        response = produce()
        with self._guard:
            expires_at = self._clock.time() + ttl_seconds
            self._entries[slot] = _Entry(payload_fingerprint, response, expires_at)
            self._next_expiry = min(self._next_expiry, expires_at)
        return response, False

    def _make_room(self) -> None:
        with self._guard:
            self._calls += 1
            full = len(self._entries) >= self.max_keys
            # At the cap, a sweep can free nothing before the earliest expiry: refuse in O(1) until then.
            if self._calls % SWEEP_EVERY == 0 or (full and self._clock.expired(self._next_expiry)):
                self._sweep()
            if len(self._entries) >= self.max_keys:
                raise IdempotencyStoreFull(
                    f"The sandbox holds its maximum of {self.max_keys} live idempotency keys "
                    "(setting max_idempotency_keys); retry once keys expire or reset the sandbox."
                )

    def _sweep(self) -> None:
        for slot in [slot for slot, entry in self._entries.items() if self._clock.expired(entry.expires_at)]:
            del self._entries[slot]
        self._next_expiry = min((entry.expires_at for entry in self._entries.values()), default=math.inf)

    def held(self) -> tuple[int, int]:
        """``(entries, locks)`` held right now, expired entries not yet swept included (for tests)."""
        with self._guard:
            return len(self._entries), len(self._key_locks)

    def _live_entry(self, slot: tuple[Hashable, str]) -> _Entry | None:
        with self._guard:
            entry = self._entries.get(slot)
            if entry is not None and self._clock.expired(entry.expires_at):
                del self._entries[slot]
                return None
            return entry

    def __len__(self) -> int:
        with self._guard:
            return sum(1 for entry in self._entries.values() if not self._clock.expired(entry.expires_at))

    def reset(self) -> None:
        with self._guard:
            self._next_expiry = math.inf
            self._entries.clear()  # locks in use stay: their holders release them (and drop them)
