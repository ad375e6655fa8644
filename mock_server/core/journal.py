"""A ring buffer of request/response summaries, newest first, with secrets masked.

The admin API serves it (``GET /__admin/requests``) and tests read it to assert what a client sent.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

# Headers worth keeping in a summary; everything else is dropped to keep entries small.
RECORDED_HEADERS = (
    "host",
    "content-type",
    "content-length",
    "user-agent",
    "authorization",
    "api-key",
    "tenant",
    "idempotency-key",
    "x-correlation-id",
    "x-appid",
    "x-teamid",
    "x-installationid",
    "x-amz-content-sha256",
)
SECRET_HEADERS = frozenset({"authorization", "api-key", "x-api-key", "cookie", "x-amz-security-token"})
SECRET_QUERY = frozenset(
    {"x-amz-signature", "x-amz-security-token", "x-goog-signature", "client_secret", "password", "token"}
)


def mask(value: str) -> str:
    """Keep a hint of the value (scheme word and last 4 characters) but never the secret itself."""
    scheme, _, rest = value.partition(" ")
    secret = rest if rest else scheme
    hint = secret[-4:] if len(secret) > 12 else ""
    masked = f"***{hint}"
    return f"{scheme} {masked}" if rest else masked


def masked_headers(headers: Mapping[str, str]) -> dict[str, str]:
    kept: dict[str, str] = {}
    for name in RECORDED_HEADERS:
        value = headers.get(name)
        if value is not None:
            kept[name] = mask(value) if name in SECRET_HEADERS else value
    return kept


def masked_query(pairs: list[tuple[str, str]]) -> dict[str, str]:
    return {name: (mask(value) if name.lower() in SECRET_QUERY else value) for name, value in pairs}


@dataclass
class JournalEntry:
    id: int
    timestamp: str
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    vendor: str | None
    operation: str | None
    correlationId: str
    status: int | None = None
    durationMs: float | None = None
    scenarioRule: str | None = None
    error: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class Journal:
    def __init__(self, size: int = 1000) -> None:
        self._lock = threading.Lock()
        self._entries: deque[JournalEntry] = deque(maxlen=size)
        self._next_id = 1

    def record(self, **fields: Any) -> JournalEntry:
        with self._lock:
            entry = JournalEntry(id=self._next_id, **fields)
            self._next_id += 1
            self._entries.append(entry)
        return entry

    def entries(
        self,
        *,
        vendor: str | None = None,
        operation: str | None = None,
        method: str | None = None,
        path: str | None = None,
        status: int | None = None,
        correlation_id: str | None = None,
        scenario: str | None = None,
        limit: int | None = None,
    ) -> list[JournalEntry]:
        """Newest first; ``path`` matches as a prefix, the other filters exactly."""
        with self._lock:
            snapshot = list(self._entries)
        found: list[JournalEntry] = []
        for entry in reversed(snapshot):
            if vendor is not None and entry.vendor != vendor:
                continue
            if operation is not None and entry.operation != operation:
                continue
            if method is not None and entry.method != method.upper():
                continue
            if path is not None and not entry.path.startswith(path):
                continue
            if status is not None and entry.status != status:
                continue
            if correlation_id is not None and entry.correlationId != correlation_id:
                continue
            if scenario is not None and entry.scenarioRule != scenario:
                continue
            found.append(entry)
            if limit is not None and len(found) >= limit:
                break
        return found

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)

    def reset(self) -> None:
        with self._lock:
            self._entries.clear()
            self._next_id = 1
