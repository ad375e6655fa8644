"""In-memory records keyed by (vendor, tenant, kind, id), behind one lock.

Records are whatever the vendor's models put there (dicts or dataclasses). Insertion order is kept,
so listings are stable. Records are grouped by (vendor, tenant, kind), so a listing costs what that
group holds, not what the whole store holds (auth checks list on every request). ``reset()``
empties everything.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

Group = tuple[str, str, str]


class Store:
    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._groups: dict[Group, dict[str, Any]] = {}

    @contextmanager
    def transaction(self) -> Iterator[Store]:
        """Hold the store's lock across several reads and writes (re-entrant)."""
        with self._lock:
            yield self

    def put(self, vendor: str, tenant: str, kind: str, record_id: str, record: Any) -> Any:
        with self._lock:
            self._groups.setdefault((vendor, tenant, kind), {})[record_id] = record
        return record

    def get(self, vendor: str, tenant: str, kind: str, record_id: str) -> Any | None:
        with self._lock:
            return self._groups.get((vendor, tenant, kind), {}).get(record_id)

    def delete(self, vendor: str, tenant: str, kind: str, record_id: str) -> Any | None:
        with self._lock:
            return self._groups.get((vendor, tenant, kind), {}).pop(record_id, None)

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
            return sum(len(group) for group in self._groups.values())

    def reset(self) -> None:
        with self._lock:
            self._groups.clear()
