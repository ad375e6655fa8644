"""A small typed client for the admin API (``/__admin``), for integrators' tests and scripts.

Public as ``mock_server.client``::

    from mock_server.client import AdminClient

    admin = AdminClient("http://127.0.0.1:8080")
    admin.reset()
    admin.advance(901)                                   # expire what was issued with a 900 s lifetime
    entries = admin.requests(operation="qubs.createReportAttachments")
    assert entries[0].status == 201

Every method raises ``AdminError`` (status and the admin API's message) on an error answer.
Records are frozen dataclasses with snake_case fields; ``raw`` keeps the JSON as served.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import requests


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
    status: str
    version: str
    vendors: tuple[str, ...]

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Health:
        return cls(data["status"], data.get("version", ""), tuple(data.get("vendors", ())))


@dataclass(frozen=True)
class ClockState:
    now: datetime
    epoch: float
    offset_seconds: float
    frozen: bool

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ClockState:
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

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RequestEntry:
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
        )


@dataclass(frozen=True)
class StoredObject:
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
    name: str
    title: str
    base_urls: tuple[str, ...]
    openapi: str | None
    credentials: tuple[str, ...]

    @property
    def base_url(self) -> str:
        return self.base_urls[0]

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> VendorInfo:
        return cls(
            data["name"],
            data["title"],
            tuple(data["baseUrls"]),
            data.get("openapi"),
            tuple(data.get("credentials", ())),
        )


@dataclass(frozen=True)
class ScenarioInfo:
    name: str
    enabled: bool
    state: str
    hits: int
    source: str
    raw: dict[str, Any] = field(repr=False, compare=False)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ScenarioInfo:
        return cls(
            data["name"],
            bool(data["enabled"]),
            data.get("state", ""),
            int(data.get("hits", 0)),
            data.get("source", ""),
            data,
        )


class AdminClient:
    """``AdminClient(url, token=None)``: ``token`` is the server's admin token (``--admin-token``),
    sent as ``Authorization: Bearer <token>`` on every call; without it, a server that requires one
    answers ``AdminError`` 401.
    """

    def __init__(
        self,
        base_url: str,
        session: requests.Session | None = None,
        timeout: float = 10,
        token: str | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.session = session or requests.Session()
        self.timeout = timeout
        if token:
            self.session.headers["Authorization"] = f"Bearer {token}"

    def _send(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        response = self.session.request(
            method, f"{self.base_url}/__admin{path}", timeout=self.timeout, **kwargs
        )
        if response.status_code >= 400:
            try:
                body = response.json()
                message = body["error"]["message"]
            except (ValueError, KeyError, TypeError):
                body, message = response.text, response.reason
            raise AdminError(response.status_code, message, body)
        return response

    def _json(self, method: str, path: str, **kwargs: Any) -> Any:
        return self._send(method, path, **kwargs).json()

    # -- lifecycle -----------------------------------------------------------------------------
    def health(self) -> Health:
        return Health.from_json(self._json("GET", "/health"))

    def reset(self) -> None:
        """Back to start-up state: records, journal, keys, objects, clock, fixtures, scenarios."""
        self._send("POST", "/reset")

    # -- clock ----------------------------------------------------------------------------------
    def clock(self) -> ClockState:
        return ClockState.from_json(self._json("GET", "/clock"))

    def advance(self, seconds: float) -> ClockState:
        return ClockState.from_json(self._json("POST", "/clock", json={"advance": seconds}))

    def set_time(self, instant: str | datetime) -> ClockState:
        value = instant.isoformat() if isinstance(instant, datetime) else instant
        return ClockState.from_json(self._json("POST", "/clock", json={"set": value}))

    def freeze(self, instant: str | datetime | None = None) -> ClockState:
        value: Any = (
            True if instant is None else instant.isoformat() if isinstance(instant, datetime) else instant
        )
        return ClockState.from_json(self._json("POST", "/clock", json={"freeze": value}))

    def unfreeze(self) -> ClockState:
        return ClockState.from_json(self._json("POST", "/clock", json={"unfreeze": True}))

    # -- journal --------------------------------------------------------------------------------
    def requests(
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
    ) -> list[RequestEntry]:
        """The journal, newest first; ``path`` is a prefix, the other filters match exactly."""
        filters = {
            "vendor": vendor,
            "operation": operation,
            "method": method,
            "path": path,
            "status": status,
            "correlationId": correlation_id,
            "scenario": scenario,
            "limit": limit,
        }
        params = {name: value for name, value in filters.items() if value is not None}
        return [
            RequestEntry.from_json(entry)
            for entry in self._json("GET", "/requests", params=params)["requests"]
        ]

    def clear_requests(self) -> None:
        self._send("DELETE", "/requests")

    # -- storage, fixtures, vendors ------------------------------------------------------------
    def objects(self, bucket: str | None = None, prefix: str = "") -> list[StoredObject]:
        params = {"prefix": prefix, **({"bucket": bucket} if bucket else {})}
        return [
            StoredObject.from_json(item) for item in self._json("GET", "/objects", params=params)["objects"]
        ]

    def object_bytes(self, bucket: str, key: str) -> bytes:
        return self._send("GET", f"/objects/{quote(bucket)}/{quote(key, safe='/')}").content

    def fixtures(self) -> dict[str, Any]:
        return self._json("GET", "/fixtures")["data"]

    def vendors(self) -> dict[str, VendorInfo]:
        return {item["name"]: VendorInfo.from_json(item) for item in self._json("GET", "/vendors")["vendors"]}

    # -- scenarios --------------------------------------------------------------------------------
    def load_scenario(self, scenario: str | Path | Mapping[str, Any]) -> list[str]:
        """Add scenarios from a file (``Path`` or a one-line ``str``), YAML/JSON text (a ``str`` with line
        breaks) or a parsed document; returns their names. Added scenarios last until the next reset.

        Raises: AdminError (400) naming the place in the document and the reason when it is invalid.
        """
        if isinstance(scenario, Mapping):
            response = self._json("POST", "/scenarios", json=dict(scenario))
        else:
            is_text = isinstance(scenario, str) and "\n" in scenario
            text = scenario if is_text else Path(scenario).read_text(encoding="utf-8")
            source = "request body" if is_text else str(scenario)
            response = self._json(
                "POST",
                "/scenarios",
                params={"source": source},
                data=str(text).encode("utf-8"),
                headers={"Content-Type": "application/yaml"},
            )
        return list(response["loaded"])

    def scenarios(self) -> list[ScenarioInfo]:
        return [ScenarioInfo.from_json(item) for item in self._json("GET", "/scenarios")["scenarios"]]

    def scenario(self, name: str) -> ScenarioInfo:
        return ScenarioInfo.from_json(self._json("GET", f"/scenarios/{quote(name, safe='')}"))

    def enable_scenario(self, name: str, enabled: bool = True) -> ScenarioInfo:
        action = "enable" if enabled else "disable"
        return ScenarioInfo.from_json(self._json("POST", f"/scenarios/{quote(name, safe='')}/{action}"))

    def remove_scenario(self, name: str) -> None:
        self._send("DELETE", f"/scenarios/{quote(name, safe='')}")

    def clear_scenarios(self) -> None:
        """Remove every scenario except the built-in magic-id rules (until the next reset)."""
        self._send("DELETE", "/scenarios")

    def reset_scenarios(self) -> None:
        """Scenario counters and states back to the start; the scenarios stay loaded."""
        self._send("POST", "/scenarios/reset")

    def operations(self) -> list[str]:
        """Every ``<vendor>.<operationId>`` the server knows (what scenario rules can match)."""
        return [row["operation"] for row in self._json("GET", "/operations")["operations"]]
