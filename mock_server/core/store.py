"""In-memory records keyed by (vendor, tenant, kind, id), behind one lock.

Records are whatever the vendor's models put there (dicts or dataclasses). Insertion order is kept,
so listings are stable. ``reset()`` empties everything.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

Key = tuple[str, str, str, str]


class Store:
    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._records: dict[Key, Any] = {}

    @contextmanager
    def transaction(self) -> Iterator[Store]:
        """Hold the store's lock across several reads and writes (re-entrant)."""
        with self._lock:
            yield self

    def put(self, vendor: str, tenant: str, kind: str, record_id: str, record: Any) -> Any:
        with self._lock:
            self._records[(vendor, tenant, kind, record_id)] = record
        return record

    def get(self, vendor: str, tenant: str, kind: str, record_id: str) -> Any | None:
        with self._lock:
            return self._records.get((vendor, tenant, kind, record_id))

    def delete(self, vendor: str, tenant: str, kind: str, record_id: str) -> Any | None:
        with self._lock:
            return self._records.pop((vendor, tenant, kind, record_id), None)

    def list(
        self, vendor: str, tenant: str, kind: str, where: Callable[[Any], bool] | None = None
    ) -> list[Any]:
        with self._lock:
            return [
                record
                for (v, t, k, _), record in self._records.items()
                if v == vendor and t == tenant and k == kind and (where is None or where(record))
            ]

    def tenants(self, vendor: str, kind: str) -> list[str]:
        with self._lock:
            return sorted({t for (v, t, k, _) in self._records if v == vendor and k == kind})

    def count(self) -> int:
        with self._lock:
            return len(self._records)

    def reset(self) -> None:
        with self._lock:
            self._records.clear()
