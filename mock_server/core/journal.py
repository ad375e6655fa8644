"""The request journal: bounded ring buffers of what clients sent and what the sandbox answered.

Two buffers: vendor traffic (``Journal.entries``) and admin calls (``Journal.admin``, smaller), so a
dashboard or a test polling the admin API never pushes vendor requests out. Health probes are not
recorded at all (``Journal.skipped``).

Bounds (per entry and in total, so hostile input cannot grow memory): at most ``MAX_HEADERS`` headers
are kept, as they came (the server bounds a request's head in bytes); read, their values are cut at
``HEADER_VALUE_LIMIT`` characters; each body keeps its first
``body_limit`` bytes; all bodies together stay under ``total_body_limit`` bytes (the oldest entries lose
their bodies first, keeping their summary).

Credentials: every name in ``CREDENTIAL_NAMES`` (headers, query parameters, form fields, JSON keys)
is masked when an entry is read. Entries are stored raw and built into dictionaries only when read
(``JournalEntry.as_dict``), so a request nobody looks at costs no serialisation: its times stay epoch
seconds and its headers bytes until read.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Mapping
from typing import Any

from mock_server.core.journal_entry import (
    BODY_LIMIT,
    HEADER_VALUE_LIMIT,
    MAX_HEADERS,
    SUMMARY_FIELDS,
    BodyCapture,
    JournalEntry,
    bounded_headers,
    clip,
)
from mock_server.core.journal_render import (
    CREDENTIAL_NAMES,
    is_credential,
    mask,
    masked_headers,
    masked_query,
)

__all__ = [
    "BODY_LIMIT",
    "CREDENTIAL_NAMES",
    "HEADER_VALUE_LIMIT",
    "MAX_HEADERS",
    "SUMMARY_FIELDS",
    "BodyCapture",
    "FilterError",
    "Journal",
    "JournalEntry",
    "bounded_headers",
    "clip",
    "is_credential",
    "mask",
    "masked_headers",
    "masked_query",
]

TOTAL_BODY_LIMIT = 32 * 1024 * 1024
ADMIN_SIZE = 200

# The filters ``entries`` and ``count`` accept, as the admin API spells them.
FILTERS = ("vendor", "operation", "method", "path", "status", "correlationId", "scenario", "text", "since")


class FilterError(ValueError):
    """A filter the journal does not know, or a value it cannot use; ``valid`` lists the names."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.valid = list(FILTERS)


def _status_matcher(value: str) -> Any:
    text = value.strip().lower()
    if len(text) == 3 and text[0] in "12345" and text[1:] == "xx":
        return lambda status: status is not None and str(status)[0] == text[0]
    if text.isdigit() and 100 <= int(text) <= 599:
        return lambda status: status == int(text)
    raise FilterError(f"status must be a status code (e.g. 404) or a class (e.g. 4xx), not {value!r}")


def _predicates(filters: Mapping[str, Any]) -> list[Any]:
    """``filters`` (admin API names, string or typed values) as entry predicates; FilterError when bad."""
    unknown = sorted(set(filters) - set(FILTERS))
    if unknown:
        raise FilterError(f"unknown filter(s): {', '.join(unknown)}; valid: {', '.join(FILTERS)}")
    tests: list[Any] = []
    for name, value in filters.items():
        if value is None:
            continue
        text, upper, lower = str(value), str(value).upper(), str(value).lower()
        if name == "status":
            match = _status_matcher(str(value))
            tests.append(lambda e, match=match: match(e.status))
        elif name == "since":
            if not str(value).isdigit():
                raise FilterError(f"since must be an entry id (a whole number), not {value!r}")
            tests.append(lambda e, floor=int(text): e.id > floor)
        elif name == "method":
            tests.append(lambda e, wanted=upper: e.method == wanted)
        elif name == "path":
            tests.append(lambda e, prefix=text: e.path.startswith(prefix))
        elif name == "text":
            tests.append(lambda e, needle=lower: needle in e.text())
        else:
            attribute = "scenarioRule" if name == "scenario" else name
            tests.append(lambda e, attribute=attribute, wanted=value: getattr(e, attribute) == wanted)
    return tests


class _Ring:
    def __init__(self, size: int) -> None:
        self.entries: deque[JournalEntry] = deque(maxlen=max(size, 1))


class Journal:
    """Thread-safe; ``size`` vendor entries, ``admin_size`` admin entries, bodies bounded."""

    def __init__(
        self,
        size: int = 1000,
        *,
        admin_size: int = ADMIN_SIZE,
        body_limit: int = BODY_LIMIT,
        total_body_limit: int = TOTAL_BODY_LIMIT,
    ) -> None:
        self._lock = threading.Lock()
        self._rings = {"vendor": _Ring(size), "admin": _Ring(admin_size)}
        self._capacity = sum(ring.entries.maxlen or 0 for ring in self._rings.values())
        self._next_id = 1
        self.body_limit = body_limit
        self.total_body_limit = total_body_limit
        self._body_total = 0
        self._with_bodies: deque[JournalEntry] = deque()  # oldest first: who gives bodies back first

    def record(self, **fields: Any) -> JournalEntry:
        """Store one entry (fields as ``JournalEntry`` takes them); admin calls go to the admin buffer."""
        with self._lock:
            entry = JournalEntry(self._next_id, **fields)
            self._next_id += 1
            ring = self._rings["admin" if entry.vendor == "admin" else "vendor"].entries
            if len(ring) == ring.maxlen:
                self._body_total -= ring[0].body_bytes()
                ring[0].drop_bodies()
            ring.append(entry)
            size = entry.body_bytes()
            if size:
                self._body_total += size
                self._with_bodies.append(entry)
            self._evict_bodies()
        return entry

    async def record_async(self, **fields: Any) -> JournalEntry:
        """``record`` for the event loop (in process it takes no round trip; core/shared_journal.py's
        does)."""
        return self.record(**fields)

    def _evict_bodies(self) -> None:
        while self._body_total > self.total_body_limit and self._with_bodies:
            entry = self._with_bodies.popleft()
            self._body_total -= entry.body_bytes()
            entry.drop_bodies()
        if len(self._with_bodies) > 4 * self._capacity:
            # Entries pushed out of their (full) ring keep a bodiless place here; sweep them now and then.
            self._with_bodies = deque(entry for entry in self._with_bodies if entry.body_bytes())

    @property
    def last_id(self) -> int:
        return self._next_id - 1

    def _snapshot(self, admin: bool) -> list[JournalEntry]:
        with self._lock:
            return list(self._rings["admin" if admin else "vendor"].entries)

    def entries(
        self,
        *,
        limit: int | None = None,
        offset: int = 0,
        admin: bool | None = None,
        correlation_id: str | None = None,
        **filters: Any,
    ) -> list[JournalEntry]:
        """Newest first. ``path`` is a prefix, ``text`` a case-insensitive substring, ``status`` a code
        or a class (``4xx``), ``since`` an id (entries after it); the others match exactly.
        ``limit=0`` means none. ``admin`` reads the admin buffer (default: when ``vendor == "admin"``).

        Raises: FilterError for an unknown filter name or an unusable value.
        """
        if correlation_id is not None:
            filters["correlationId"] = correlation_id
        tests = _predicates(filters)
        use_admin = admin if admin is not None else filters.get("vendor") == "admin"
        found: list[JournalEntry] = []
        if limit is not None and limit <= 0:
            return found
        skipped = 0
        for entry in reversed(self._snapshot(use_admin)):
            if all(test(entry) for test in tests):
                if skipped < offset:
                    skipped += 1
                    continue
                found.append(entry)
                if limit is not None and len(found) >= limit:
                    break
        return found

    def count(self, *, admin: bool | None = None, **filters: Any) -> int:
        """How many entries match (same filters as ``entries``); FilterError when a filter is bad."""
        tests = _predicates(filters)
        use_admin = admin if admin is not None else filters.get("vendor") == "admin"
        return sum(1 for entry in self._snapshot(use_admin) if all(test(entry) for test in tests))

    def get(self, entry_id: int) -> JournalEntry | None:
        with self._lock:
            for ring in self._rings.values():
                for entry in ring.entries:
                    if entry.id == entry_id:
                        return entry
        return None

    @property
    def body_total(self) -> int:
        return self._body_total

    def __len__(self) -> int:
        with self._lock:
            return len(self._rings["vendor"].entries)

    def reset(self) -> None:
        with self._lock:
            for ring in self._rings.values():
                ring.entries.clear()
            self._body_total = 0
            self._with_bodies.clear()
            self._next_id = 1
