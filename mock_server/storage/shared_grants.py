"""Claims of single-use upload URLs in Redis (``--state-url``): a URL issued by one worker is honoured,
once, by any.

A URL's limits are signed into it (storage/grants.py); what is shared is the epoch, the sweeps' count and
times, and the claims. The epoch and the count are fields of the ``meta`` hash (``grant-epoch``,
``grants-sweeps``),
which every request's sync reads anyway, so checking a URL costs no round trip; a reset empties the
namespace, and the next URL issued draws a new epoch (HSETNX: every worker ends up with the same one).
Claims are the fields of one hash, ``claims`` (field: the signature; value ``u`` while an upload is in
progress, ``d`` once done). To find the expired ones, the signatures are kept by the second their URL
expires in (sandbox clock): a set ``claim-exp:<second>`` per second, and ``claim-expiry`` (sorted set of
those seconds); the last SWEEPS_KEPT sweeps' times are the list ``grant-sweep-times``. Claiming and
finishing are atomic Lua scripts, so two workers cannot both start an upload through one single-use URL,
and a claim checks the epoch and the sweeps itself: a reset or a sweep of another process between a
request's sync and its claim refuses the URL.
"""

from __future__ import annotations

import math

from mock_server.core.clock import Clock
from mock_server.core.shared import MISSING, SharedState
from mock_server.storage.grants import (
    DONE,
    IN_USE,
    SWEEP_EVERY,
    SWEEPS_KEPT,
    UNKNOWN_GRANT,
    UPLOADING,
    USED,
    latest_since,
    new_epoch,
)
from mock_server.storage.s3_errors import AccessDenied

# KEYS: claims hash, the seconds (sorted set), bucket key prefix, meta hash, sweep times. ARGV: signature,
# expiry second, the URL's epoch, the sweep count at its issue, its expiry (epoch seconds). Answers 1
# claimed, 2 used, 3 in use, 0 no longer known: another epoch (a reset ran since the request's check) or
# a sweep since its issue ran at or after its expiry (it may have forgotten the URL's claim), both checked
# here so that no reset or sweep of another process slips in between.
_CLAIM = f"""
if redis.call('HGET', KEYS[4], 'grant-epoch') ~= ARGV[3] then return 0 end
local sweeps, since = tonumber(redis.call('HGET', KEYS[4], 'grants-sweeps') or '0'), tonumber(ARGV[4])
if sweeps > since then
  local times = redis.call('LRANGE', KEYS[5], 0, -1)
  local first_kept = sweeps - #times
  if since < first_kept then return 0 end
  for i = since - first_kept + 1, #times do
    if tonumber(times[i]) >= tonumber(ARGV[5]) then return 0 end
  end
end
local found = redis.call('HGET', KEYS[1], ARGV[1])
if found == '{DONE}' then return 2 end
if found == '{UPLOADING}' then return 3 end
redis.call('HSET', KEYS[1], ARGV[1], '{UPLOADING}')
redis.call('SADD', KEYS[3] .. ARGV[2], ARGV[1])
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[2])
return 1
"""
# KEYS: claims hash. ARGV: signature, succeeded (0/1).
_FINISH = f"""
if not redis.call('HGET', KEYS[1], ARGV[1]) then return 0 end
if ARGV[2] == '1' then
  redis.call('HSET', KEYS[1], ARGV[1], '{DONE}')
else
  redis.call('HDEL', KEYS[1], ARGV[1])
end
return 1
"""
# KEYS: the seconds (sorted set), claims hash, bucket key prefix, meta hash, sweep times. ARGV: now,
# budget, sweep times kept.
# Forgets the claims of expired URLs no upload holds, at most SWEEP_BUDGET a call; those still uploading
# go back into their second's set, to be looked at again by a later sweep. Counts the sweep and keeps its
# time.
_SWEEP = f"""
local budget, gone = tonumber(ARGV[2]), 0
for _, second in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, 1000)) do
  local bucket = KEYS[3] .. second
  local popped = redis.call('SPOP', bucket, budget)
  local held = {{}}
  for _, signature in ipairs(popped) do
    if redis.call('HGET', KEYS[2], signature) == '{UPLOADING}' then
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
redis.call('HINCRBY', KEYS[4], 'grants-sweeps', 1)
redis.call('RPUSH', KEYS[5], ARGV[1])
redis.call('LTRIM', KEYS[5], -tonumber(ARGV[3]), -1)
return gone
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
        self._claimed = 0
        self._claims = shared.key("claims")

    def epoch(self) -> str:
        """The namespace's epoch: as this request's sync read it, else from Redis (drawn if none)."""
        found = self.shared.synced("grant-epoch")
        if isinstance(found, bytes):
            return found.decode()
        meta = self.shared.key("meta")
        self.shared.redis.hsetnx(meta, "grant-epoch", new_epoch())
        return str(self.shared.redis.hget(meta, "grant-epoch").decode())

    def sweeps(self) -> int:
        found = self.shared.synced("grants-sweeps")
        if found is MISSING:
            found = self.shared.redis.hget(self.shared.key("meta"), "grants-sweeps")
        return int(found or 0)

    def swept_since(self, count: int) -> float:
        if count >= self.sweeps():  # no sweep since (the common case): no round trip
            return float("-inf")
        pipe = self.shared.redis.pipeline(transaction=True)
        pipe.hget(self.shared.key("meta"), "grants-sweeps")
        pipe.lrange(self.shared.key("grant-sweep-times"), 0, -1)
        sweeps, times = pipe.execute()
        return latest_since(count, int(sweeps or 0), [float(at) for at in times])

    def claim(self, signature: str, expires_at: float, epoch: str, sweeps: int) -> None:
        """Raises: AccessDenied when the URL was used, an upload through it is in progress, or its limits
        are no longer known: a reset ran since its check (``epoch`` is no longer the namespace's), or a
        sweep made since its issue (``sweeps``: the count then) ran at or after ``expires_at``."""
        keys = [
            self._claims,
            self.shared.key("claim-expiry"),
            self.shared.key("claim-exp", ""),
            self.shared.key("meta"),
            self.shared.key("grant-sweep-times"),
        ]
        args = [signature, math.ceil(expires_at), epoch, sweeps, repr(expires_at)]
        outcome = self._claim(keys=keys, args=args)
        if outcome == 0:
            raise AccessDenied(UNKNOWN_GRANT)
        if outcome == 2:
            raise AccessDenied(USED)
        if outcome == 3:
            raise AccessDenied(IN_USE)
        self._claimed += 1
        if self._claimed % SWEEP_EVERY == 0:
            keys = [keys[1], self._claims, keys[2], keys[3], keys[4]]
            self._sweep(keys=keys, args=[self.clock.time(), SWEEP_BUDGET, SWEEPS_KEPT])

    def finish(self, signature: str, *, succeeded: bool) -> None:
        self._finish(keys=[self._claims], args=[signature, "1" if succeeded else "0"])

    def __len__(self) -> int:
        """Claims held (those of expired URLs not yet forgotten included)."""
        return int(self.shared.redis.hlen(self._claims))

    def reset(self) -> None:
        """Nothing of its own: ``Sandbox.reset`` empties the whole namespace."""
