"""Upload grants in Redis (``--state-url``): a URL issued by one worker is honoured, once, by any.

The grants are the fields of one hash, ``grants`` (field: the signature; value: three flag characters,
single use, used and uploading, then its pickled limits), so a request's grants are one HSET. To find
the expired ones, the signatures are kept by the second they expire in (sandbox clock): a set
``grant-exp:<second>`` per second, and ``grant-expiry`` (sorted set of those seconds). A request's grants
mostly share one second, so issuing them adds one member to the sorted set, not one per grant (a
sorted set of every live grant cost Redis about 4 µs per insert under load, bench/PROFILE.md).
Issuing rides on the request's queued writes; claiming and finishing are atomic Lua scripts, so
two workers cannot both start an upload through one single-use URL.
"""

from __future__ import annotations

import math
from typing import Any

from mock_server.core.clock import Clock
from mock_server.core.shared import SharedState, dumps, loads
from mock_server.storage.grants import IN_USE, SWEEP_EVERY, USED, UploadGrant
from mock_server.storage.s3_errors import AccessDenied

# A grant is one field of the ``grants`` hash: three flag characters (single use, used, uploading:
# "0"/"1") then the pickled tuple of its limits (UploadGrant's fields up to expires_at).
# KEYS: grants hash. ARGV: signature. Answers {outcome, pickled grant}: 0 unknown, 1 granted, 2 used,
# 3 in use.
_CLAIM = """
local found = redis.call('HGET', KEYS[1], ARGV[1])
if not found then return {0, false} end
local grant = string.sub(found, 4)
if string.sub(found, 1, 1) == '1' then
  if string.sub(found, 2, 2) == '1' then return {2, grant} end
  if string.sub(found, 3, 3) == '1' then return {3, grant} end
  redis.call('HSET', KEYS[1], ARGV[1], '101' .. grant)
end
return {1, grant}
"""
# KEYS: grants hash. ARGV: signature, succeeded (0/1).
_FINISH = """
local found = redis.call('HGET', KEYS[1], ARGV[1])
if not found then return 0 end
local single, used = string.sub(found, 1, 1), string.sub(found, 2, 2)
if ARGV[2] == '1' and single == '1' then used = '1' end
redis.call('HSET', KEYS[1], ARGV[1], single .. used .. '0' .. string.sub(found, 4))
return 1
"""
# KEYS: the seconds (sorted set), grants hash, bucket key prefix. ARGV: now, budget.
# Forgets expired grants that no upload holds, at most SWEEP_BUDGET a call; those still uploading go back
# into their second's set, to be looked at again by a later sweep.
_SWEEP = """
local budget, gone = tonumber(ARGV[2]), 0
for _, second in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, 1000)) do
  local bucket = KEYS[3] .. second
  local popped = redis.call('SPOP', bucket, budget)
  local held = {}
  for _, signature in ipairs(popped) do
    local found = redis.call('HGET', KEYS[2], signature)
    if found and string.sub(found, 3, 3) == '1' then
      held[#held + 1] = signature
    else
      gone = gone + redis.call('HDEL', KEYS[2], signature)
    end
  end
  if #held > 0 then
    redis.call('SADD', bucket, unpack(held))
  elseif redis.call('EXISTS', bucket) == 0 then
    redis.call('ZREM', KEYS[1], second)
  end
  budget = budget - #popped
  if budget <= 0 then break end
end
return gone
"""
# KEYS: the seconds (sorted set). ARGV: bucket key prefix, then per second: the second, n, n signatures.
_EXPIRE = """
local at = 2
while at <= #ARGV do
  local second, count = ARGV[at], tonumber(ARGV[at + 1])
  redis.call('SADD', ARGV[1] .. second, unpack(ARGV, at + 2, at + 1 + count))
  redis.call('ZADD', KEYS[1], second, second)
  at = at + 2 + count
end
return 1
"""
SWEEP_BUDGET = 5000


class SharedGrantBook:
    """``GrantBook`` over a ``SharedState``."""

    def __init__(self, shared: SharedState, clock: Clock) -> None:
        self.shared = shared
        self.clock = clock
        self._claim = shared.script(_CLAIM)
        self._finish = shared.script(_FINISH)
        self._sweep = shared.script(_SWEEP)
        self._expire = shared.script(_EXPIRE)
        self._issued = 0
        self._grants = shared.key("grants")

    def issue(self, signature: str, grant: UploadGrant) -> None:
        """Remember ``grant``: its hash, and its expiry second with the request's other grants in one call."""
        self.issue_all([(signature, grant)])

    def issue_all(self, grants: list[tuple[str, UploadGrant]]) -> None:
        """``issue`` for several ``(signature, grant)`` at once."""
        values = [
            (
                signature,
                # the limits as a tuple: a quarter of the cost of pickling the dataclass
                (b"100" if grant.single_use else b"000")
                + dumps(
                    (grant.bucket, grant.key, grant.host, grant.max_bytes, grant.single_use, grant.expires_at)
                ),
            )
            for signature, grant in grants
        ]
        self.shared.batched_all("grants", values, self._send_grants, {})
        expiries = [(signature, grant.expires_at) for signature, grant in grants]
        self.shared.batched_all("grant-expiry", expiries, self._send_expiries, {})
        before, self._issued = self._issued, self._issued + len(grants)
        if before // SWEEP_EVERY != self._issued // SWEEP_EVERY:
            keys = [self.shared.key("grant-expiry"), self._grants, self.shared.key("grant-exp", "")]
            self._sweep(keys=keys, args=[self.clock.time(), SWEEP_BUDGET])

    def _send_grants(self, items: list[tuple[str, bytes]]) -> tuple[Any, ...]:
        return ("HSET", self._grants, *(part for item in items for part in item))

    def _send_expiries(self, items: list[tuple[str, float]]) -> tuple[Any, ...]:
        # One set per expiry second: a grant is forgotten once its whole second has passed. A signature
        # covers the signing second and the lifetime, so one issued twice has one expiry.
        by_second: dict[int, list[str]] = {}
        for signature, at in items:
            by_second.setdefault(math.ceil(at), []).append(signature)
        args: list[Any] = [self.shared.key("grant-exp", "")]
        for second, signatures in by_second.items():
            for start in range(0, len(signatures), 1000):  # unpack() stays far below Lua's stack limit
                chunk = signatures[start : start + 1000]
                args += [second, len(chunk), *chunk]
        return self._expire.args([self.shared.key("grant-expiry")], args)

    def get(self, signature: str) -> UploadGrant | None:
        found = self.shared.redis.hget(self._grants, signature)
        if found is None:
            return None
        return UploadGrant(*loads(found[3:]), used=found[1:2] == b"1", uploading=found[2:3] == b"1")

    def claim(self, signature: str) -> UploadGrant | None:
        self.shared.flush()  # a grant issued earlier in this request must be claimable
        outcome, raw = self._claim(keys=[self._grants], args=[signature])
        if outcome == 0:
            return None
        if outcome == 2:
            raise AccessDenied(USED)
        if outcome == 3:
            raise AccessDenied(IN_USE)
        grant = UploadGrant(*loads(raw))
        return grant._replace(uploading=grant.single_use)

    def finish(self, signature: str, *, succeeded: bool) -> None:
        self._finish(keys=[self._grants], args=[signature, "1" if succeeded else "0"])

    def __len__(self) -> int:
        """Grants held (expired ones not yet forgotten included)."""
        return int(self.shared.redis.hlen(self._grants))

    def reset(self) -> None:
        """Nothing of its own: ``Sandbox.reset`` empties the whole namespace."""
