"""Upload grants in Redis (``--state-url``): a URL issued by one worker is honoured, once, by any.

Each grant is a hash ``grant:<signature>`` (``g``: the pickled grant, ``used``, ``uploading``);
``grant-expiry`` (sorted set, score: expiry on the sandbox clock) finds the expired ones to forget.
Issuing rides on the request's queued writes; claiming and finishing are atomic Lua scripts, so
two workers cannot both start an upload through one single-use URL.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from mock_server.core.clock import Clock
from mock_server.core.shared import SharedState, dumps, loads
from mock_server.storage.grants import IN_USE, SWEEP_EVERY, USED, UploadGrant
from mock_server.storage.s3_errors import AccessDenied

# KEYS: grant hash. Answers {outcome, pickled grant}: 0 unknown, 1 granted, 2 used, 3 in use.
_CLAIM = """
local found = redis.call('HMGET', KEYS[1], 'g', 'single', 'used', 'uploading')
if not found[1] then return {0, false} end
if found[2] == '1' then
  if found[3] == '1' then return {2, found[1]} end
  if found[4] == '1' then return {3, found[1]} end
  redis.call('HSET', KEYS[1], 'uploading', '1')
end
return {1, found[1]}
"""
# KEYS: grant hash. ARGV: succeeded (0/1).
_FINISH = """
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], 'uploading', '0')
if ARGV[1] == '1' and redis.call('HGET', KEYS[1], 'single') == '1' then
  redis.call('HSET', KEYS[1], 'used', '1')
end
return 1
"""
# KEYS: expiry set, grant key prefix. ARGV: now. Forgets expired grants that no upload holds.
_SWEEP = """
local gone = 0
for _, signature in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, 5000)) do
  local key = KEYS[2] .. signature
  if redis.call('HGET', key, 'uploading') ~= '1' then
    redis.call('DEL', key)
    redis.call('ZREM', KEYS[1], signature)
    gone = gone + 1
  end
end
return gone
"""


class SharedGrantBook:
    """``GrantBook`` over a ``SharedState``."""

    def __init__(self, shared: SharedState, clock: Clock) -> None:
        self.shared = shared
        self.clock = clock
        self._claim = shared.script(_CLAIM)
        self._finish = shared.script(_FINISH)
        self._sweep = shared.script(_SWEEP)
        self._issued = 0

    def _key(self, signature: str) -> str:
        return self.shared.key("grant", signature)

    def issue(self, signature: str, grant: UploadGrant) -> None:
        """Remember ``grant`` (its hash now, its expiry with the request's other grants in one ZADD)."""
        key = self._key(signature)
        single = "1" if grant.single_use else "0"
        self.shared.write(
            ("HSET", key, "g", dumps(grant), "single", single, "used", "0", "uploading", "0"), {}
        )
        self.shared.batched("grant-expiry", (signature, grant.expires_at), self._send_expiries, {})
        self._issued += 1
        if self._issued % SWEEP_EVERY == 0:
            prefix = self.shared.key("grant", "")
            self._sweep(keys=[self.shared.key("grant-expiry"), prefix], args=[self.clock.time()])

    def _send_expiries(self, items: list[tuple[str, float]]) -> tuple[Any, ...]:
        # ZADD takes score then member; a signature issued twice keeps its last expiry, as a dict would.
        return (
            "ZADD",
            self.shared.key("grant-expiry"),
            *(part for signature, at in dict(items).items() for part in (at, signature)),
        )

    def get(self, signature: str) -> UploadGrant | None:
        found = self.shared.redis.hmget(self._key(signature), "g", "used", "uploading")
        if found[0] is None:
            return None
        grant: UploadGrant = loads(found[0])
        return replace(grant, used=found[1] == b"1", uploading=found[2] == b"1")

    def claim(self, signature: str) -> UploadGrant | None:
        self.shared.flush()  # a grant issued earlier in this request must be claimable
        outcome, raw = self._claim(keys=[self._key(signature)])
        if outcome == 0:
            return None
        if outcome == 2:
            raise AccessDenied(USED)
        if outcome == 3:
            raise AccessDenied(IN_USE)
        grant: UploadGrant = loads(raw)
        return replace(grant, uploading=grant.single_use)

    def finish(self, signature: str, *, succeeded: bool) -> None:
        self._finish(keys=[self._key(signature)], args=["1" if succeeded else "0"])

    def __len__(self) -> int:
        return int(self.shared.redis.zcard(self.shared.key("grant-expiry")))

    def reset(self) -> None:
        """Nothing of its own: ``Sandbox.reset`` empties the whole namespace."""
