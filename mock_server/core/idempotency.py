"""Idempotency keys: replay the stored response, refuse a reused key with another payload.

A key lives in a scope (for example client + domain + route) for a TTL measured on the sandbox
clock. ``run`` is race-safe: concurrent requests with one key are serialised on a per-key lock,
so the first creates and the later ones replay its stored response byte for byte.
"""

from __future__ import annotations

import hashlib
import json
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


class IdempotencyStore:
    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._guard = threading.Lock()
        self._entries: dict[tuple[Hashable, str], _Entry] = {}
        self._key_locks: dict[tuple[Hashable, str], threading.Lock] = {}

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
        """
        slot = (scope, key)
        with self._guard:
            lock = self._key_locks.setdefault(slot, threading.Lock())
        with lock:
            entry = self._live_entry(slot)
            if entry is not None:
                if entry.fingerprint != payload_fingerprint:
                    raise IdempotencyConflict()
                return entry.response, True
            response = produce()
            with self._guard:
                self._entries[slot] = _Entry(payload_fingerprint, response, self._clock.time() + ttl_seconds)
            return response, False

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
            self._entries.clear()
            self._key_locks.clear()
