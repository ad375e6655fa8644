"""In-memory records keyed by (vendor, tenant, kind, id), behind one lock.

Records are whatever the vendor's models put there (dicts or dataclasses). Insertion order is kept,
so listings are stable. Records are grouped by (vendor, tenant, kind), so a listing costs what that
group holds, not what the whole store holds (auth checks list on every request). ``reset()``
empties everything. At most ``max_records`` records are held: adding one more raises ``StoreFull``
(507, rendered in the calling vendor's format); replacing or deleting a record always works.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from mock_server.core.errors import SandboxError

Group = tuple[str, str, str]
DEFAULT_MAX_RECORDS = 100_000


class StoreFull(SandboxError):
    """The sandbox holds its maximum of records (its own bound, not a vendor rule)."""

    status = 507
    code = "store-full"
    default_message = "The sandbox holds its maximum of records; reset it (POST /__admin/reset)."


class Store:
    def __init__(self, max_records: int = DEFAULT_MAX_RECORDS) -> None:
        self._lock = threading.RLock()
        self._groups: dict[Group, dict[str, Any]] = {}
        self.max_records = max_records
        self._count = 0

    @contextmanager
    def transaction(self) -> Iterator[Store]:
        """Hold the store's lock across several reads and writes (re-entrant)."""
        with self._lock:
            yield self

    def put(self, vendor: str, tenant: str, kind: str, record_id: str, record: Any) -> Any:
        """Raises: StoreFull when ``record_id`` is new and ``max_records`` records are held."""
        with self._lock:
            group = self._groups.setdefault((vendor, tenant, kind), {})
            if record_id not in group:
                self.ensure_room(1)
                self._count += 1
            group[record_id] = record
        return record

    def ensure_room(self, count: int) -> None:
        """Raises: StoreFull unless ``count`` more records fit (check before an all-or-nothing batch)."""
        with self._lock:
            if self._count + count > self.max_records:
                raise StoreFull(
                    f"The sandbox holds its maximum of {self.max_records} records (setting max_records); "
                    "reset it (POST /__admin/reset) or start it with a higher limit."
                )

    def get(self, vendor: str, tenant: str, kind: str, record_id: str) -> Any | None:
        with self._lock:
            return self._groups.get((vendor, tenant, kind), {}).get(record_id)

    def delete(self, vendor: str, tenant: str, kind: str, record_id: str) -> Any | None:
        with self._lock:
            group = self._groups.get((vendor, tenant, kind), {})
            if record_id in group:
                self._count -= 1
            return group.pop(record_id, None)

    def list(
        self, vendor: str, tenant: str, kind: str, where: Callable[[Any], bool] | None = None
    ) -> list[Any]:
        with self._lock:
            group = self._groups.get((vendor, tenant, kind), {})
            return [record for record in group.values() if where is None or where(record)]

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
