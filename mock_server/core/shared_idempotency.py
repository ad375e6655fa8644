"""Idempotency keys in Redis (``--state-url``): concurrent retries through any worker create one thing.

A live key is ``idem:<slot>`` (pickled ``(fingerprint, StoredResponse, expires_at)``); while its first
request runs, ``idem-run:<slot>`` marks it taken (with a real-time safety expiry, in case that process
dies). Later requests with the key wait for the first to finish, then replay its response or, when it
failed, take the key themselves, as ``IdempotencyStore`` does with its per-key lock. ``idem-expiry``
(sorted set, score: expiry on the sandbox clock) bounds the live keys at ``max_keys``.
"""

from __future__ import annotations

import hashlib
import pickle
import time
from collections.abc import Callable, Hashable

from mock_server.core.clock import Clock
from mock_server.core.idempotency import (
    DEFAULT_MAX_KEYS,
    IdempotencyConflict,
    IdempotencyStoreFull,
    StoredResponse,
)
from mock_server.core.shared import SharedState, dumps, loads

RUN_SAFETY_MS = 60_000
"""A key taken by a process that died is free again after this long (real time)."""
WAIT_STEP_SECONDS = 0.002

# KEYS: entry, run marker, expiry set. ARGV: now, max keys, slot, safety ms.
# Answers {0, entry} live entry | {1} taken here | {2} another request runs it | {3} full.
_TAKE = """
local entry = redis.call('GET', KEYS[1])
if entry then
  local expires = tonumber(redis.call('ZSCORE', KEYS[3], ARGV[3]))
  if expires and expires > tonumber(ARGV[1]) then return {0, entry} end
  redis.call('DEL', KEYS[1])
  redis.call('ZREM', KEYS[3], ARGV[3])
end
if redis.call('EXISTS', KEYS[2]) == 1 then return {2} end
if redis.call('ZCARD', KEYS[3]) >= tonumber(ARGV[2]) then
  for _, old in ipairs(redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', ARGV[1], 'LIMIT', 0, 1000)) do
    redis.call('DEL', (string.gsub(KEYS[1], ARGV[3] .. '$', old)))
    redis.call('ZREM', KEYS[3], old)
  end
  if redis.call('ZCARD', KEYS[3]) >= tonumber(ARGV[2]) then return {3} end
end
redis.call('SET', KEYS[2], '1', 'PX', ARGV[4])
return {1}
"""


class SharedIdempotencyStore:
    """``IdempotencyStore`` over a ``SharedState``."""

    def __init__(self, shared: SharedState, clock: Clock, max_keys: int = DEFAULT_MAX_KEYS) -> None:
        self.shared = shared
        self._clock = clock
        self.max_keys = max_keys
        self._take = shared.script(_TAKE)

    def run(
        self,
        scope: Hashable,
        key: str,
        payload_fingerprint: str,
        ttl_seconds: float,
        produce: Callable[[], StoredResponse],
    ) -> tuple[StoredResponse, bool]:
        """As ``IdempotencyStore.run``. Raises: IdempotencyConflict, IdempotencyStoreFull."""
        slot = hashlib.sha256(pickle.dumps((scope, key), protocol=4)).hexdigest()
        entry, running = self.shared.key("idem", slot), self.shared.key("idem-run", slot)
        expiry = self.shared.key("idem-expiry")
        while True:
            args = [self._clock.time(), self.max_keys, slot, RUN_SAFETY_MS]
            answer = self._take(keys=[entry, running, expiry], args=args)
            if answer[0] == 0:
                fingerprint, response = loads(answer[1])
                if fingerprint != payload_fingerprint:
                    raise IdempotencyConflict()
                return response, True
            if answer[0] == 3:
                raise IdempotencyStoreFull(
                    f"The sandbox holds its maximum of {self.max_keys} live idempotency keys "
                    "(setting max_idempotency_keys); retry once keys expire or reset the sandbox."
                )
            if answer[0] == 1:
                break
            time.sleep(WAIT_STEP_SECONDS)  # another request holds the key: wait for its answer
        try:
            response = produce()
            self.shared.flush()  # what the first request wrote is visible before its replay is
            pipe = self.shared.redis.pipeline(transaction=True)
            pipe.set(entry, dumps((payload_fingerprint, response)))
            pipe.zadd(expiry, {slot: self._clock.time() + ttl_seconds})
            pipe.execute()
        finally:
            self.shared.redis.delete(running)
        return response, False

    def held(self) -> tuple[int, int]:
        """``(entries, running)``: keys stored (expired ones not yet swept included), keys being produced."""
        running = sum(1 for _ in self.shared.redis.scan_iter(match=self.shared.key("idem-run", "*")))
        return int(self.shared.redis.zcard(self.shared.key("idem-expiry"))), running

    def __len__(self) -> int:
        return int(self.shared.redis.zcount(self.shared.key("idem-expiry"), f"({self._clock.time()}", "+inf"))

    def reset(self) -> None:
        """Nothing of its own: ``Sandbox.reset`` empties the whole namespace."""
