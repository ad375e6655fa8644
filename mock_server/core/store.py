"""In-memory records keyed by (vendor, tenant, kind, id), behind one lock.

Records are whatever the vendor's models put there (dicts or dataclasses). Insertion order is kept,
so listings are stable. Records are grouped by (vendor, tenant, kind), so a listing costs what that
group holds, not what the whole store holds (auth checks list on every request). ``reset()``
empties everything. At most ``max_records`` records are held: adding one more raises ``StoreFull``
(507, rendered in the calling vendor's format); replacing or deleting a record always works.

Copy on read (``Store(copy_on_read=True)``) is what a shared backend does (records pickled into a
server that several worker processes read): ``get`` and ``list`` hand out fresh copies, so a change
made to a record in place is lost unless it is written back with ``put``. The test suite runs this
way, which keeps vendor code honest about writing every change explicitly (inside ``transaction()``
when a read-modify-write must be atomic) and proves every record pickles. The default hands out the
stored objects themselves; callers must not rely on either.
"""

from __future__ import annotations

import pickle
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from mock_server.core.errors import SandboxError
from mock_server.core.gc_policy import HeldDict

Group = tuple[str, str, str]
DEFAULT_MAX_RECORDS = 100_000


class StoreFull(SandboxError):
    """The sandbox holds its maximum of records (its own bound, not a vendor rule)."""

    status = 507
    code = "store-full"
    default_message = "The sandbox holds its maximum of records; reset it (POST /__admin/reset)."


class UnpicklableRecord(TypeError):
    """A record a copying store cannot hold: it does not pickle (a lambda, lock or open file inside)."""


class FixedKindWritten(RuntimeError):
    """A record of a kind its vendor declared fixed (``Vendor.fixed_kinds``: written only while the
    fixtures load) was written while serving a request: the declaration is wrong (a shared store
    caches such kinds until the next reset)."""


class Store:
    def __init__(
        self,
        max_records: int = DEFAULT_MAX_RECORDS,
        copy_on_read: bool = False,
        fixed_kinds: frozenset[tuple[str, str]] = frozenset(),
    ) -> None:
        """``fixed_kinds``: ``(vendor, kind)`` pairs only fixture loading may write (``loading`` true)."""
        self.fixed_kinds = fixed_kinds
        self.loading = False
        self._lock = threading.RLock()
        self._groups: dict[Group, dict[str, Any]] = {}
        self.max_records = max_records
        self.copy_on_read = copy_on_read
        self._count = 0

    @contextmanager
    def transaction(self) -> Iterator[Store]:
        """Hold the store's lock across several reads and writes (re-entrant)."""
        with self._lock:
            yield self

    def put(self, vendor: str, tenant: str, kind: str, record_id: str, record: Any) -> Any:
        """Store ``record`` (replacing any under the same key) and return it.

        With ``copy_on_read`` the store keeps its own pickled snapshot: later changes to ``record``
        are not seen until it is put again.

        Raises: StoreFull when ``record_id`` is new and ``max_records`` records are held;
        UnpicklableRecord (with ``copy_on_read``) when the record does not pickle; FixedKindWritten.
        """
        if self.fixed_kinds and (vendor, kind) in self.fixed_kinds and not self.loading:
            raise FixedKindWritten(
                f"{vendor} {kind!r} records are fixed (Vendor.fixed_kinds) but {record_id!r} was written"
            )
        stored = self._freeze(vendor, kind, record_id, record) if self.copy_on_read else record
        with self._lock:
            group = self._group(vendor, tenant, kind)
            if record_id not in group:
                self.ensure_room(1)
                self._count += 1
            group[record_id] = stored
        return record

    def put_all(self, vendor: str, tenant: str, kind: str, records: Sequence[tuple[str, Any]]) -> None:
        """``put`` of each ``(record_id, record)`` into one group, all or none (one request's records).

        Raises: as ``put``, before anything is stored (StoreFull when the new ids do not all fit).
        """
        if self.fixed_kinds and (vendor, kind) in self.fixed_kinds and not self.loading:
            raise FixedKindWritten(
                f"{vendor} {kind!r} records are fixed (Vendor.fixed_kinds) but were written"
            )
        if self.copy_on_read:
            records = [(rid, self._freeze(vendor, kind, rid, record)) for rid, record in records]
        with self._lock:
            group = self._group(vendor, tenant, kind)
            if self._count + len(records) > self.max_records:  # near the bound: count the new ids exactly
                self.ensure_room(len({rid for rid, _ in records if rid not in group}))
            held = len(group)
            group.update(records)
            self._count += len(group) - held

    def _group(self, vendor: str, tenant: str, kind: str) -> dict[str, Any]:
        group = self._groups.get((vendor, tenant, kind))
        if group is None:
            group = self._groups[(vendor, tenant, kind)] = HeldDict()
        return group

    def ensure_room(self, count: int) -> None:
        """Raises: StoreFull unless ``count`` more records fit (check before an all-or-nothing batch)."""
        with self._lock:
            if self._count + count > self.max_records:
                raise StoreFull(
                    f"The sandbox holds its maximum of {self.max_records} records (setting max_records); "
                    "reset it (POST /__admin/reset) or start it with a higher limit."
                )

    def get(self, vendor: str, tenant: str, kind: str, record_id: str) -> Any | None:
        """The record under the key, or None (a copy with ``copy_on_read``)."""
        with self._lock:
            record = self._groups.get((vendor, tenant, kind), {}).get(record_id)
        return self._thaw(record)

    def delete(self, vendor: str, tenant: str, kind: str, record_id: str) -> Any | None:
        """Remove the record under the key; returns it (a copy with ``copy_on_read``) or None."""
        with self._lock:
            group = self._groups.get((vendor, tenant, kind), {})
            if record_id in group:
                self._count -= 1
            record = group.pop(record_id, None)
        return self._thaw(record)

    def list(
        self, vendor: str, tenant: str, kind: str, where: Callable[[Any], bool] | None = None
    ) -> list[Any]:
        """The group's records in insertion order (copies with ``copy_on_read``), filtered by ``where``."""
        with self._lock:
            group = self._groups.get((vendor, tenant, kind), {})
            if not self.copy_on_read:
                return [record for record in group.values() if where is None or where(record)]
            frozen = list(group.values())
        thawed = (self._thaw(record) for record in frozen)
        return [record for record in thawed if where is None or where(record)]

    def tenants(self, vendor: str, kind: str) -> list[str]:
        with self._lock:
            return sorted(
                {t for (v, t, k), group in self._groups.items() if v == vendor and k == kind and group}
            )

    def count(self) -> int:
        with self._lock:
            return self._count

    def reset(self) -> None:
        with self._lock:
            self._groups.clear()
            self._count = 0

    def _freeze(self, vendor: str, kind: str, record_id: str, record: Any) -> bytes:
        try:
            return pickle.dumps(record, pickle.HIGHEST_PROTOCOL)
        except (pickle.PicklingError, TypeError, AttributeError) as exc:
            raise UnpicklableRecord(
                f"{vendor} {kind} record {record_id!r} cannot be stored by a copying store: {exc}"
            ) from exc

    def _thaw(self, record: Any) -> Any:
        if record is None or not self.copy_on_read:
            return record
        return pickle.loads(record)
