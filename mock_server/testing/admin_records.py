"""The records ``AdminClient`` returns (frozen dataclasses with snake_case fields; ``raw`` keeps the JSON
as served) and ``AdminError``, raised on any error answer of the admin API."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


class AdminError(Exception):
    """The admin API answered an error (``{"error": {"status", "message", ...}}``)."""

    def __init__(self, status: int, message: str, body: Any = None) -> None:
        super().__init__(f"{status}: {message}")
        self.status = status
        self.message = message
        self.body = body


def _instant(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


@dataclass(frozen=True)
class Health:
    """``GET /__admin/health``: status, version and the vendors served."""

    status: str
    version: str
    vendors: tuple[str, ...]

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Health:
        """From the endpoint's JSON body."""
        return cls(data["status"], data.get("version", ""), tuple(data.get("vendors", ())))


@dataclass(frozen=True)
class ClockState:
    """``GET /__admin/clock``: the sandbox instant, its epoch seconds, the offset from real time
    (seconds) and whether it is frozen."""

    now: datetime
    epoch: float
    offset_seconds: float
    frozen: bool

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ClockState:
        """From the endpoint's JSON body."""
        return cls(
            _instant(data["now"]), float(data["epoch"]), float(data["offsetSeconds"]), bool(data["frozen"])
        )


@dataclass(frozen=True)
class RequestEntry:
    """One journal entry: what a client sent (secrets masked) and what the sandbox answered."""

    id: int
    timestamp: datetime
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    vendor: str | None
    operation: str | None
    correlation_id: str
    status: int | None
    duration_ms: float | None
    scenario_rule: str | None
    error: str | None
    raw: dict[str, Any] = field(repr=False, compare=False)
    real_time: datetime | None = None
    request_body: dict[str, Any] | None = field(default=None, repr=False, compare=False)
    response: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)
    explanation: dict[str, str] | None = field(default=None, repr=False, compare=False)
    nearest_route: str | None = None

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RequestEntry:
        """From one item of ``GET /__admin/requests``."""
        return cls(
            id=data["id"],
            timestamp=_instant(data["timestamp"]),
            method=data["method"],
            path=data["path"],
            query=dict(data.get("query") or {}),
            headers=dict(data.get("headers") or {}),
            vendor=data.get("vendor"),
            operation=data.get("operation"),
            correlation_id=data["correlationId"],
            status=data.get("status"),
            duration_ms=data.get("durationMs"),
            scenario_rule=data.get("scenarioRule"),
            error=data.get("error"),
            raw=data,
            real_time=_instant(data["realTime"]) if data.get("realTime") else None,
            request_body=data.get("requestBody"),
            response=dict(data.get("response") or {}),
            explanation=data.get("explanation"),
            nearest_route=data.get("nearestRoute"),
        )


@dataclass(frozen=True)
class StoredObject:
    """One object in the embedded S3 (``GET /__admin/objects``): size in bytes, quoted ETag, SHA-256."""

    bucket: str
    key: str
    size: int
    content_type: str
    etag: str
    sha256: str
    uploaded_at: datetime
    metadata: dict[str, str]

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> StoredObject:
        """From one item of ``GET /__admin/objects``."""
        return cls(
            data["bucket"],
            data["key"],
            data["size"],
            data["contentType"],
            data["etag"],
            data["sha256"],
            _instant(data["uploadedAt"]),
            dict(data.get("metadata") or {}),
        )


@dataclass(frozen=True)
class VendorInfo:
    """One vendor of ``GET /__admin/vendors``: name, title, base URLs, OpenAPI URL, default credentials."""

    name: str
    title: str
    base_urls: tuple[str, ...]
    openapi: str | None
    credentials: tuple[str, ...]

    @property
    def base_url(self) -> str:
        """The vendor's first base URL."""
        return self.base_urls[0]

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> VendorInfo:
        """From one item of ``GET /__admin/vendors``."""
        return cls(
            data["name"],
            data["title"],
            tuple(data["baseUrls"]),
            data.get("openapi"),
            tuple(data.get("credentials", ())),
        )


@dataclass(frozen=True)
class ScenarioInfo:
    """One scenario of ``GET /__admin/scenarios``: whether enabled, its state, hits and source."""

    name: str
    enabled: bool
    state: str
    hits: int
    source: str
    raw: dict[str, Any] = field(repr=False, compare=False)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ScenarioInfo:
        """From one item of ``GET /__admin/scenarios``."""
        return cls(
            data["name"],
            bool(data["enabled"]),
            data.get("state", ""),
            int(data.get("hits", 0)),
            data.get("source", ""),
            data,
        )


@dataclass(frozen=True)
class SessionInfo:
    """``POST /__admin/sessions`` and friends: an isolated session, whose ``base_url``
    (``<server>/~s/<name>``) is a whole sandbox; ``expires_at`` is real time, or None."""

    name: str
    base_url: str
    created_at: datetime
    expires_at: datetime | None
    raw: Mapping[str, Any] = field(repr=False, compare=False, default_factory=dict)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> SessionInfo:
        """From the endpoint's JSON body."""
        expires = data.get("expiresAt")
        return cls(
            data["name"],
            data["baseUrl"],
            _instant(data["createdAt"]),
            _instant(expires) if expires else None,
            data,
        )
