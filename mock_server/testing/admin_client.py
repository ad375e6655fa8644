"""A small typed client for the admin API (``/__admin``), for integrators' tests and scripts.

Public as ``mock_server.client``::

    from mock_server.client import AdminClient

    admin = AdminClient("http://127.0.0.1:8080")
    admin.reset()
    admin.advance(901)                                   # expire what was issued with a 900 s lifetime
    entries = admin.requests(operation="qubs.createReportAttachments")
    assert entries[0].status == 201

    mine = admin.create_session(ttl_seconds=600)         # an isolated sandbox at mine.base_url
    admin.for_session(mine).advance(3600)                # moves that session's clock only
    admin.delete_session(mine.name)

Every method raises ``AdminError`` (status and the admin API's message) on an error answer.
Records are frozen dataclasses with snake_case fields; ``raw`` keeps the JSON as served.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import requests

from mock_server.testing.admin_records import (
    AdminError,
    ClockState,
    Health,
    RequestEntry,
    ScenarioInfo,
    SessionInfo,
    StoredObject,
    VendorInfo,
)

PAGE = 1000  # the admin API's largest page (journal and object listings)


class AdminClient:
    """Typed client of a running sandbox's admin API (``/__admin``), over ``requests``.

    ``token`` is the server's admin token (``--admin-token``), sent as ``Authorization: Bearer <token>``
    on every call; without it, a server that requires one answers ``AdminError`` 401. Every method
    raises :class:`AdminError` (status and body) when the server refuses the call, and
    ``requests.RequestException`` when it cannot be reached within ``timeout`` seconds."""

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
        """``GET /__admin/health``."""
        return Health.from_json(self._json("GET", "/health"))

    def reset(self) -> None:
        """Back to start-up state: records, journal, keys, objects, clock, fixtures, scenarios."""
        self._send("POST", "/reset")

    # -- clock ----------------------------------------------------------------------------------
    def clock(self) -> ClockState:
        """``GET /__admin/clock``."""
        return ClockState.from_json(self._json("GET", "/clock"))

    def advance(self, seconds: float) -> ClockState:
        """Move the sandbox clock ``seconds`` forward (negative: back); returns the new state."""
        return ClockState.from_json(self._json("POST", "/clock", json={"advance": seconds}))

    def set_time(self, instant: str | datetime) -> ClockState:
        """Jump the sandbox clock to ``instant`` (ISO 8601 text or a datetime)."""
        value = instant.isoformat() if isinstance(instant, datetime) else instant
        return ClockState.from_json(self._json("POST", "/clock", json={"set": value}))

    def freeze(self, instant: str | datetime | None = None) -> ClockState:
        """Stop the sandbox clock, at ``instant`` or now."""
        value: Any = (
            True if instant is None else instant.isoformat() if isinstance(instant, datetime) else instant
        )
        return ClockState.from_json(self._json("POST", "/clock", json={"freeze": value}))

    def unfreeze(self) -> ClockState:
        """Let the sandbox clock run again from where it stood."""
        return ClockState.from_json(self._json("POST", "/clock", json={"unfreeze": True}))

    # -- journal --------------------------------------------------------------------------------
    def requests(
        self,
        *,
        vendor: str | None = None,
        operation: str | None = None,
        method: str | None = None,
        path: str | None = None,
        status: int | str | None = None,
        correlation_id: str | None = None,
        scenario: str | None = None,
        text: str | None = None,
        since: int | None = None,
        limit: int | None = None,
        offset: int | None = None,
    ) -> list[RequestEntry]:
        """The journal, newest first; ``path`` is a prefix, ``text`` a substring, ``status`` a code or a
        class (``"4xx"``), ``since`` an entry id; the others match exactly. ``vendor="admin"`` reads the
        admin calls (kept apart). Every match without ``limit`` (read page by page); ``limit=0`` gives none.

        Raises: AdminError (400) for a bad filter value.
        """
        params = _filters(vendor, operation, method, path, status, correlation_id, scenario, text, since)
        rows = self._pages("/requests", "requests", params, limit, offset or 0)
        return [RequestEntry.from_json(entry) for entry in rows]

    def _pages(
        self, path: str, key: str, params: dict[str, Any], limit: int | None, offset: int
    ) -> list[dict[str, Any]]:
        """``limit`` rows (all without it) from ``offset`` on of a paged admin listing, in pages of at most
        ``PAGE`` (the server's largest); a row seen twice (the list moved between pages) is kept once."""
        rows: list[dict[str, Any]] = []
        seen: set[Any] = set()
        while limit is None or len(rows) < limit:
            size = PAGE if limit is None else min(PAGE, limit - len(rows))
            page = self._json("GET", path, params={**params, "limit": size, "offset": offset})[key]
            for row in page:
                identity = row.get("id", (row.get("bucket"), row.get("key")))
                if identity not in seen:
                    seen.add(identity)
                    rows.append(row)
            offset += len(page)
            if len(page) < size:
                break
        return rows

    def request_count(
        self,
        *,
        vendor: str | None = None,
        operation: str | None = None,
        method: str | None = None,
        path: str | None = None,
        status: int | str | None = None,
        correlation_id: str | None = None,
        scenario: str | None = None,
        text: str | None = None,
        since: int | None = None,
    ) -> int:
        """How many journal entries match (same filters as ``requests``), without fetching them."""
        params = _filters(vendor, operation, method, path, status, correlation_id, scenario, text, since)
        return int(self._json("GET", "/requests/count", params=params)["count"])

    def request(self, entry_id: int) -> RequestEntry:
        """One entry in full (headers, bodies, signature explanation). Raises AdminError (404) when gone."""
        return RequestEntry.from_json(self._json("GET", f"/requests/{entry_id}"))

    def clear_requests(self) -> None:
        """Empty the request journal."""
        self._send("DELETE", "/requests")

    # -- storage, fixtures, vendors ------------------------------------------------------------
    def objects(self, bucket: str | None = None, prefix: str = "") -> list[StoredObject]:
        """Objects in the embedded S3, optionally one bucket's and under a key ``prefix``."""
        params = {"prefix": prefix, **({"bucket": bucket} if bucket else {})}
        return [StoredObject.from_json(item) for item in self._pages("/objects", "objects", params, None, 0)]

    def object_bytes(self, bucket: str, key: str) -> bytes:
        """The stored bytes of ``bucket``/``key``."""
        return self._send("GET", f"/objects/{quote(bucket)}/{quote(key, safe='/')}").content

    def delete_object(self, bucket: str, key: str) -> None:
        """Raises: AdminError (404) when there is no such object."""
        self._send("DELETE", f"/objects/{quote(bucket)}/{quote(key, safe='/')}")

    def fixtures(self) -> dict[str, Any]:
        """The loaded fixture data, one section per vendor."""
        return self._json("GET", "/fixtures")["data"]

    def vendors(self) -> dict[str, VendorInfo]:
        """The vendors served, by name."""
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

    def validate_scenario(self, text: str) -> list[str]:
        """Check YAML/JSON scenario text without loading it; returns the scenario names.

        Raises: AdminError (400) naming the place in the document and the reason when it is invalid.
        """
        response = self._json(
            "POST",
            "/scenarios/validate",
            data=text.encode("utf-8"),
            headers={"Content-Type": "application/yaml"},
        )
        return list(response["scenarios"])

    def scenarios(self) -> list[ScenarioInfo]:
        """Every scenario, in precedence order."""
        return [ScenarioInfo.from_json(item) for item in self._json("GET", "/scenarios")["scenarios"]]

    def scenario(self, name: str) -> ScenarioInfo:
        """One scenario by name."""
        return ScenarioInfo.from_json(self._json("GET", f"/scenarios/{quote(name, safe='')}"))

    def enable_scenario(self, name: str, enabled: bool = True) -> ScenarioInfo:
        """Enable (or, with ``enabled=False``, disable) scenario ``name``."""
        action = "enable" if enabled else "disable"
        return ScenarioInfo.from_json(self._json("POST", f"/scenarios/{quote(name, safe='')}/{action}"))

    def enable_rule(self, name: str, rule: str | int, enabled: bool = True) -> ScenarioInfo:
        """Enable (or, with ``enabled=False``, disable) one rule of scenario ``name``, given by its
        ``id`` or its index; a disabled rule is skipped as if absent. Raises: AdminError (404) for an
        unknown scenario or rule."""
        path = f"/scenarios/{quote(name, safe='')}/rules/{quote(str(rule), safe='')}"
        return ScenarioInfo.from_json(self._json("PATCH", path, json={"enabled": enabled}))

    def remove_scenario(self, name: str) -> None:
        """Remove scenario ``name`` until the next reset."""
        self._send("DELETE", f"/scenarios/{quote(name, safe='')}")

    def clear_scenarios(self) -> None:
        """Remove every scenario except the built-in magic-id rules (until the next reset)."""
        self._send("DELETE", "/scenarios")

    def reset_scenarios(self) -> None:
        """Scenario counters and states back to the start; the scenarios stay loaded."""
        self._send("POST", "/scenarios/reset")

    # -- sessions ---------------------------------------------------------------------------------
    def create_session(
        self,
        name: str | None = None,
        *,
        fixtures: Mapping[str, Any] | str | None = None,
        scenarios: list[Mapping[str, Any] | str] | None = None,
        seed: int | None = None,
        ttl_seconds: float | None = None,
    ) -> SessionInfo:
        """``POST /__admin/sessions``: a new isolated sandbox (named, or named by the server).

        ``fixtures`` (per vendor, or YAML text) replace the server's for the vendors they name;
        ``scenarios`` are loaded into it; ``ttl_seconds`` (real time) removes it unless deleted first.
        """
        body = {"name": name, "fixtures": fixtures, "scenarios": scenarios, "seed": seed}
        body["ttlSeconds"] = ttl_seconds
        sent = {key: value for key, value in body.items() if value is not None}
        return SessionInfo.from_json(self._json("POST", "/sessions", json=sent))

    def sessions(self) -> list[SessionInfo]:
        """``GET /__admin/sessions``: the live sessions."""
        return [SessionInfo.from_json(row) for row in self._json("GET", "/sessions")["sessions"]]

    def get_session(self, name: str) -> SessionInfo:
        """``GET /__admin/sessions/{name}``. Raises: AdminError 404 when unknown or expired."""
        return SessionInfo.from_json(self._json("GET", f"/sessions/{quote(name, safe='')}"))

    def delete_session(self, name: str) -> None:
        """``DELETE /__admin/sessions/{name}``: the session and its objects are gone."""
        self._send("DELETE", f"/sessions/{quote(name, safe='')}")

    def for_session(self, session: SessionInfo | str) -> AdminClient:
        """A client of ``session``'s own admin API (clock, reset, journal, objects, scenarios)."""
        if isinstance(session, str):
            session = self.get_session(session)
        return AdminClient(session.base_url, self.session, self.timeout)

    def operations(self) -> list[str]:
        """Every ``<vendor>.<operationId>`` the server knows (what scenario rules can match)."""
        return [row["operation"] for row in self._json("GET", "/operations")["operations"]]


def _filters(
    vendor: str | None,
    operation: str | None,
    method: str | None,
    path: str | None,
    status: int | str | None,
    correlation_id: str | None,
    scenario: str | None,
    text: str | None,
    since: int | None,
) -> dict[str, Any]:
    named = {
        "vendor": vendor,
        "operation": operation,
        "method": method,
        "path": path,
        "status": status,
        "correlationId": correlation_id,
        "scenario": scenario,
        "text": text,
        "since": since,
    }
    return {name: value for name, value in named.items() if value is not None}
