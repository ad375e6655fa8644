"""The record store over Redis: ``Store``'s interface, records shared by every worker and replica.

Keys (under the sandbox's namespace): ``rec:<vendor>:<kind>:<tenant>`` (hash: id -> pickled record),
``ord:...`` (hash: id -> insertion number, so listings keep insertion order as ``Store`` does),
``meta`` field ``records`` (records held, read with the per-request sync), ``meta`` fields
``v:<vendor>:<kind>`` (the kind's version: raised by every write and delete of one of its records),
``rec-seq`` (insertion numbers), ``rec-groups`` (set of the groups ever written, pickled
``(vendor, tenant, kind)``).

Each process keeps what it read (records and whole groups) with the kind's version at the time; while
the version that the request's sync read is the same, a read is answered from there without a round
trip (a QUBS create reads its appointment, which nothing else writes). Under the lock every read goes
to Redis.

Like the in-process store with ``copy_on_read``, ``get``/``list`` return copies: a change is kept
only by ``put``. Writes made while serving a request are queued and sent with its answer
(``SharedState.writes``); reads see them first. ``transaction`` holds the cross-process lock.

The ``max_records`` bound is checked against the count read once per request plus the request's
own new records, so two processes can overshoot it by what they create at the same instant
(the count itself stays exact).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from mock_server.core.shared import MISSING, SharedState, dumps, loads
from mock_server.core.store import DEFAULT_MAX_RECORDS, FixedKindWritten, Group, StoreFull

CACHED_READS = 4096
"""Records and groups a process keeps with their versions; past this, it starts over."""

# KEYS: meta hash ("records": the count), sequence, groups set.
# ARGV: for each record, six values: record hash, order hash, id, record, group, version field.
# A request's records mostly share one hash, group and version field: each of those is written once
# (one HSET per hash, one SADD per new group, one HINCRBY per kind), not once per record; only the
# insertion number (HSETNX: set if the record is new) is one call per record.
_PUT = """
local n = #ARGV / 6
local last = redis.call('INCRBY', KEYS[2], n)
local new, bumped, grouped, writes, hashes = 0, {}, {}, {}, {}
for i = 1, #ARGV, 6 do
  if redis.call('HSETNX', ARGV[i + 1], ARGV[i + 2], last - n + (i + 5) / 6) == 1 then
    new = new + 1
    if not grouped[ARGV[i + 4]] then
      grouped[ARGV[i + 4]] = true
      redis.call('SADD', KEYS[3], ARGV[i + 4])
    end
  end
  if not bumped[ARGV[i + 5]] then
    bumped[ARGV[i + 5]] = true
    redis.call('HINCRBY', KEYS[1], ARGV[i + 5], 1)
  end
  local fields = writes[ARGV[i]]
  if not fields then
    fields = {}
    writes[ARGV[i]] = fields
    hashes[#hashes + 1] = ARGV[i]
  end
  fields[#fields + 1] = ARGV[i + 2]
  fields[#fields + 1] = ARGV[i + 3]
end
if new > 0 then
  redis.call('HINCRBY', KEYS[1], 'records', new)
end
for _, hash in ipairs(hashes) do
  local fields = writes[hash]
  for from = 1, #fields, 2000 do  -- unpack() stays far below Lua's stack limit
    redis.call('HSET', hash, unpack(fields, from, math.min(from + 1999, #fields)))
  end
end
return 1
"""
# KEYS: record hash, order hash, meta hash. ARGV: id, version field.
_DELETE = """
if redis.call('HDEL', KEYS[1], ARGV[1]) == 1 then
  redis.call('HINCRBY', KEYS[3], ARGV[2], 1)
  redis.call('HDEL', KEYS[2], ARGV[1])
  redis.call('HINCRBY', KEYS[3], 'records', -1)
end
return 1
"""


class SharedStore:
    """``Store`` over a ``SharedState``; see the module docstring for what differs."""

    def __init__(
        self,
        shared: SharedState,
        max_records: int = DEFAULT_MAX_RECORDS,
        fixed_kinds: frozenset[tuple[str, str]] = frozenset(),
    ) -> None:
        """``fixed_kinds``: ``(vendor, kind)`` pairs only fixture loading writes; read once per reset."""
        self.shared = shared
        self.max_records = max_records
        self.fixed_kinds = fixed_kinds
        self.loading = False
        self._fixed: dict[tuple[str, str, str], list[tuple[str, Any]]] = {}
        self._read: dict[tuple[str, str], tuple[int, bytes | None]] = {}  # (hash, id) -> (version, raw)
        self._groups: dict[str, tuple[int, dict[bytes, bytes], dict[bytes, bytes]]] = {}
        self._group_blobs: dict[tuple[str, str, str], bytes] = {}  # pickled group names, for rec-groups
        self._put = shared.script(_PUT)
        self._delete = shared.script(_DELETE)

    def _keys(self, vendor: str, tenant: str, kind: str) -> tuple[str, str]:
        return self.shared.key("rec", vendor, kind, tenant), self.shared.key("ord", vendor, kind, tenant)

    @contextmanager
    def transaction(self) -> Iterator[SharedStore]:
        """Hold the sandbox's cross-process lock across several reads and writes (re-entrant)."""
        with self.shared.lock():
            yield self

    def put(self, vendor: str, tenant: str, kind: str, record_id: str, record: Any) -> Any:
        """Raises: StoreFull when ``record_id`` may be new and ``max_records`` records are held;
        FixedKindWritten for a fixed kind outside fixture loading."""
        if (vendor, kind) in self.fixed_kinds:
            if not self.loading:
                raise FixedKindWritten(
                    f"{vendor} {kind!r} records are fixed (Vendor.fixed_kinds) but {record_id!r} was written"
                )
            self._fixed.pop((vendor, tenant, kind), None)
        self._make_room(self._keys(vendor, tenant, kind)[0], record_id)
        self._queue(vendor, tenant, kind, record_id, record)
        return record

    def _queue(self, vendor: str, tenant: str, kind: str, record_id: str, record: Any) -> None:
        records, order = self._keys(vendor, tenant, kind)
        value = dumps(record)
        group = self._group_blobs.get((vendor, tenant, kind))
        if group is None:
            if len(self._group_blobs) >= CACHED_READS:
                self._group_blobs = {}
            group = self._group_blobs[(vendor, tenant, kind)] = dumps((vendor, tenant, kind))
        item = (records, order, record_id, value, group, _version_field(vendor, kind))
        self.shared.batched("records", item, self._send_puts, {(records, record_id): value})

    def put_all(self, vendor: str, tenant: str, kind: str, records: Sequence[tuple[str, Any]]) -> None:
        """``put`` of each ``(record_id, record)`` into one group. Raises: as ``put``, before anything
        is queued when the new ids do not all fit (the writes go out together with the request's)."""
        if self.shared.pending() is None:
            with self.shared.writes():
                self.put_all(vendor, tenant, kind, records)
            return
        if (vendor, kind) in self.fixed_kinds and not self.loading:
            raise FixedKindWritten(
                f"{vendor} {kind!r} records are fixed (Vendor.fixed_kinds) but were written"
            )
        ids = {record_id for record_id, _ in records}
        if self._count() + len(ids) > self.max_records:  # near the bound: count only the ids that are new
            stored, _ = self._keys(vendor, tenant, kind)
            self.ensure_room(sum(1 for record_id in ids if self.get_raw(stored, record_id) is None))
        self._fixed.pop((vendor, tenant, kind), None)
        for record_id, record in records:
            self._queue(vendor, tenant, kind, record_id, record)
        queued = self.shared.pending()
        if queued is not None:
            queued.cache.pop("rec-queued", None)  # ``_make_room`` counts the request's records anew

    def _send_puts(self, items: list[tuple[Any, ...]]) -> tuple[Any, ...]:
        keys = [self.shared.key("meta"), self.shared.key("rec-seq"), self.shared.key("rec-groups")]
        return self._put.args(keys, [value for item in items for value in item])

    def _make_room(self, records: str, record_id: str) -> None:
        writes = self.shared.pending()
        new = 0
        if writes is not None:
            # Records this request has queued so far, counted as they are queued: a request writing n
            # records costs n steps, not n squared. Kept with the overlay it counts (a flush starts over).
            overlay, new = writes.cache.get("rec-queued", (None, 0))
            if overlay is not writes.overlay:
                prefix = self.shared.key("rec", "")
                new = sum(
                    1 for (key, _), v in writes.overlay.items() if v is not None and key.startswith(prefix)
                )
            if writes.overlay.get((records, record_id)) is None:
                writes.cache["rec-queued"] = (writes.overlay, new + 1)
        if self._count() + new + 1 <= self.max_records:
            return
        if self.get_raw(records, record_id) is None:
            self.ensure_room(new + 1)

    def ensure_room(self, count: int) -> None:
        """Raises: StoreFull unless ``count`` more records fit (check before an all-or-nothing batch)."""
        if self._count() + count > self.max_records:
            raise StoreFull(
                f"The sandbox holds its maximum of {self.max_records} records (setting max_records); "
                "reset it (POST /__admin/reset) or start it with a higher limit."
            )

    def get_raw(self, records: str, record_id: str) -> bytes | None:
        """The pickled record (the request's queued write first), or None."""
        queued = self.shared.overlaid(records, record_id)
        if queued is not MISSING:
            return queued  # type: ignore[no-any-return]
        return self.shared.redis.hget(records, record_id)  # type: ignore[no-any-return]

    def _fixed_group(self, vendor: str, tenant: str, kind: str) -> list[tuple[str, Any]] | None:
        """A fixed kind's records as read once since the last reset: ``[(id, pickled record)]``."""
        if (vendor, kind) not in self.fixed_kinds or self.loading:
            return None
        group = (vendor, tenant, kind)
        found = self._fixed.get(group)
        if found is None:
            found = self._fixed[group] = self._read_group(vendor, tenant, kind)
        return found

    def follow_reset(self) -> None:
        """Another process reset the sandbox: forget the fixed kinds and the records read before."""
        self._fixed, self._read, self._groups = {}, {}, {}

    def get(self, vendor: str, tenant: str, kind: str, record_id: str) -> Any | None:
        """A copy of the record, or None."""
        fixed = self._fixed_group(vendor, tenant, kind)
        if fixed is not None:
            return next((loads(raw) for name, raw in fixed if name == record_id), None)
        records = self._keys(vendor, tenant, kind)[0]
        raw = self.shared.overlaid(records, record_id)
        if raw is MISSING:
            raw = self._hget_kept(records, record_id, self.shared.version(_version_field(vendor, kind)))
        return None if raw is None else loads(raw)

    def _hget_kept(self, records: str, record_id: str, version: int | None) -> bytes | None:
        """The stored record, from what this process read at ``version`` of its kind if that is still
        the version (None: read Redis, keep nothing)."""
        known = self._read.get((records, record_id))
        if known is not None and version is not None and known[0] == version:
            return known[1]
        raw: bytes | None = self.shared.redis.hget(records, record_id)
        if version is not None:
            if len(self._read) >= CACHED_READS:
                self._read = {}
            self._read[(records, record_id)] = (version, raw)
        return raw

    def delete(self, vendor: str, tenant: str, kind: str, record_id: str) -> Any | None:
        """Remove the record; returns what it was, or None."""
        records, order = self._keys(vendor, tenant, kind)
        raw = self.get_raw(records, record_id)
        if raw is None:
            return None
        writes = self.shared.pending()
        if writes is not None:
            writes.cache.pop("rec-queued", None)  # counted again at the next put
        keys, args = [records, order, self.shared.key("meta")], [record_id, _version_field(vendor, kind)]
        self.shared.write(
            lambda pipe: self._delete(keys=keys, args=args, client=pipe), {(records, record_id): None}
        )
        return loads(raw)

    def list(
        self, vendor: str, tenant: str, kind: str, where: Callable[[Any], bool] | None = None
    ) -> list[Any]:
        """Copies of the group's records in insertion order, those ``where`` accepts."""
        group = self._fixed_group(vendor, tenant, kind)
        if group is None:
            group = self._read_group(vendor, tenant, kind)
        out = (loads(raw) for _, raw in group)
        return [record for record in out if where is None or where(record)]

    def _read_group(self, vendor: str, tenant: str, kind: str) -> list[tuple[str, bytes]]:
        """``[(id, pickled record)]`` of a group in insertion order, the request's queued writes included."""
        records, order = self._keys(vendor, tenant, kind)
        version = self.shared.version(_version_field(vendor, kind))
        known = self._groups.get(records)
        if version is not None and known is not None and known[0] == version:
            values, positions = known[1], known[2]
        else:
            pipe = self.shared.redis.pipeline(transaction=False)
            pipe.hgetall(records)
            pipe.hgetall(order)
            values, positions = pipe.execute()
            if version is not None:
                if len(self._groups) >= CACHED_READS:
                    self._groups = {}
                self._groups[records] = (version, values, positions)
        found: dict[bytes, bytes] = dict(values)
        rank = {field: int(number) for field, number in positions.items()}
        writes = self.shared.pending()
        if writes is not None:
            last = float("inf")
            for (key, field), value in writes.overlay.items():
                if key != records:
                    continue
                name = field.encode() if isinstance(field, str) else field
                if value is None:
                    found.pop(name, None)
                else:
                    found[name] = value
                    rank.setdefault(name, last)  # type: ignore[arg-type]
        ordered = sorted(found, key=lambda name: rank.get(name, float("inf")))
        return [(name.decode(), found[name]) for name in ordered]

    def tenants(self, vendor: str, kind: str) -> list[str]:
        """Tenants holding at least one ``kind`` record of ``vendor``, sorted."""
        groups: list[Group] = [
            loads(raw) for raw in self.shared.redis.smembers(self.shared.key("rec-groups"))
        ]
        chosen = [group for group in groups if group[0] == vendor and group[2] == kind]
        return sorted(tenant for (_, tenant, _) in chosen if self.list(vendor, tenant, kind))

    def _count(self) -> int:
        writes = self.shared.pending()
        if writes is not None and "rec-count" in writes.cache:
            return writes.cache["rec-count"]  # type: ignore[no-any-return]
        count = int(self.shared.redis.hget(self.shared.key("meta"), "records") or 0)
        if writes is not None:
            writes.cache["rec-count"] = count
        return count

    def count(self) -> int:
        """Records held (as last written to Redis)."""
        return int(self.shared.redis.hget(self.shared.key("meta"), "records") or 0)

    def reset(self) -> None:
        """Forget what was read; ``Sandbox.reset`` empties the namespace (``SharedState.clear``)."""
        self._fixed, self._read, self._groups = {}, {}, {}


def _version_field(vendor: str, kind: str) -> str:
    return f"v:{vendor}:{kind}"
