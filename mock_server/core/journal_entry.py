"""One journal entry: what a request sent and what the sandbox answered, stored raw and rendered when
read (see core/journal.py for the buffers that hold entries and their bounds)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from itertools import islice
from typing import Any

from mock_server.core.clock import iso_ms
from mock_server.core.journal_render import masked_headers, masked_query, render_body

HEADER_VALUE_LIMIT = 2048
MAX_HEADERS = 64
BODY_LIMIT = 64 * 1024
SUMMARY_FIELDS = (
    "id",
    "timestamp",
    "realTime",
    "method",
    "path",
    "vendor",
    "operation",
    "correlationId",
    "status",
    "durationMs",
    "scenarioRule",
    "error",
)


def clip(value: str, limit: int = HEADER_VALUE_LIMIT) -> str:
    """``value``, or its first ``limit`` characters and how many more there were."""
    if len(value) <= limit:
        return value
    return f"{value[:limit]}…[{len(value) - limit} more characters]"


def bounded_headers(pairs: Iterable[tuple[str | bytes, str | bytes]]) -> list[tuple[str, str]]:
    """At most ``MAX_HEADERS`` (name, value) pairs, each value clipped; names lower-cased; bytes (ASGI's
    headers) decoded as Latin-1."""
    kept: list[tuple[str, str]] = []
    for name, value in pairs:
        if len(kept) >= MAX_HEADERS:
            kept.append(("…", "more headers not kept"))
            break
        if isinstance(name, bytes):
            name = name.decode("latin-1")
        if isinstance(value, bytes):
            value = value.decode("latin-1")
        name = name.lower()
        # clip() only past the limits: this runs for every header of every request.
        kept.append(
            (
                name if len(name) <= 256 else clip(name, 256),
                value if len(value) <= HEADER_VALUE_LIMIT else clip(value),
            )
        )
    return kept


class BodyCapture:
    """The first ``limit`` bytes of a body and its full length, fed chunk by chunk."""

    __slots__ = ("limit", "parts", "kept", "size")

    def __init__(self, limit: int = BODY_LIMIT) -> None:
        self.limit = limit
        self.parts: list[bytes] = []
        self.kept = 0
        self.size = 0

    def feed(self, chunk: bytes) -> None:
        """Count ``chunk`` and keep what fits under the limit."""
        self.size += len(chunk)
        room = self.limit - self.kept
        if room > 0 and chunk:
            piece = chunk[:room]
            self.parts.append(piece)
            self.kept += len(piece)

    def value(self) -> tuple[bytes, int]:
        """``(the kept bytes, the whole body's size)``."""
        return b"".join(self.parts), self.size


class JournalEntry:
    """One request, stored raw; ``as_dict`` builds (and caches) the masked view.

    The summary fields are attributes (``entry.status``, ``entry.operation``, ...) for tests and filters.
    """

    __slots__ = (
        *(name for name in SUMMARY_FIELDS if name not in ("timestamp", "realTime")),
        "_at",
        "_real_at",
        "query_string",
        "_request_headers",
        "_response_headers",
        "request_body",
        "response_body",
        "explanation",
        "nearest_route",
        "_query",
        "_dict",
        "_text",
    )

    def __init__(self, id: int, **fields: Any) -> None:
        self.id = id
        # text, or epoch seconds (written as text when first read)
        self._at: str | float = fields.pop("timestamp")
        self._real_at: str | float | None = fields.pop("realTime", None)
        self.method: str = fields.pop("method")
        self.path: str = fields.pop("path")
        self.vendor: str | None = fields.pop("vendor", None)
        self.operation: str | None = fields.pop("operation", None)
        self.correlationId: str = fields.pop("correlationId", "")
        self.status: int | None = fields.pop("status", None)
        self.durationMs: float | None = fields.pop("durationMs", None)
        self.scenarioRule: str | None = fields.pop("scenarioRule", None)
        self.error: str | None = fields.pop("error", None)
        query = fields.pop("query", None)
        self.query_string: str = fields.pop("query_string", "")
        self._query: dict[str, str] | None = dict(query) if query is not None else None
        headers = fields.pop("headers", {})
        # As given, bounded in number now (a head of many short lines stays small); read, bounded in size.
        pairs = headers.items() if isinstance(headers, Mapping) else headers
        self._request_headers = tuple(islice(pairs, MAX_HEADERS + 1))
        self._response_headers = tuple(islice(fields.pop("response_headers", ()), MAX_HEADERS + 1))
        self.request_body: tuple[bytes, int] | None = fields.pop("request_body", None)
        self.response_body: tuple[bytes, int] | None = fields.pop("response_body", None)
        self.explanation: dict[str, str] | None = fields.pop("explanation", None)
        self.nearest_route: str | None = fields.pop("nearest_route", None)
        fields.pop("extra", None)
        if fields:
            raise TypeError(f"unknown journal field(s): {', '.join(sorted(fields))}")
        self._dict: dict[str, Any] | None = None
        self._text: str | None = None

    @property
    def timestamp(self) -> str:
        """When the request arrived, on the sandbox clock: ``2026-11-24T10:15:00.123Z``."""
        if not isinstance(self._at, str):
            self._at = iso_ms(self._at)
        return self._at

    @property
    def realTime(self) -> str | None:  # noqa: N802 - the admin API's field name
        """When the request arrived, on the machine's clock (as ``timestamp``), if recorded."""
        if self._real_at is not None and not isinstance(self._real_at, str):
            self._real_at = iso_ms(self._real_at)
        return self._real_at

    @property
    def raw_headers(self) -> list[tuple[str, str]]:
        """The request's headers, unmasked and bounded (``bounded_headers``)."""
        return bounded_headers(self._request_headers)

    @property
    def response_headers(self) -> list[tuple[str, str]]:
        """The answer's headers as the route sent them, bounded (``bounded_headers``)."""
        return bounded_headers(self._response_headers)

    def line(self) -> dict[str, Any]:
        """The request log line's fields (``logs.log_request``)."""
        return {
            "vendor": self.vendor,
            "operation": self.operation,
            "method": self.method,
            "path": self.path,
            "status": self.status,
            "durationMs": self.durationMs,
            "correlationId": self.correlationId,
            "scenarioRule": self.scenarioRule,
            "error": self.error,
        }

    @property
    def query(self) -> dict[str, str]:
        """The query parameters, credentials masked."""
        if self._query is None:
            from urllib.parse import parse_qsl

            self._query = masked_query(parse_qsl(self.query_string, keep_blank_values=True))
        return self._query

    @property
    def headers(self) -> dict[str, str]:
        """The request's headers, bounded, credentials masked."""
        return masked_headers(self.raw_headers)

    def body_bytes(self) -> int:
        """Bytes of request and response body kept."""
        request, response = self.request_body, self.response_body
        return (0 if request is None else len(request[0])) + (0 if response is None else len(response[0]))

    def drop_bodies(self) -> None:
        """Forget the kept bodies (their sizes stay)."""
        for name in ("request_body", "response_body"):
            body = getattr(self, name)
            if body is not None:
                setattr(self, name, (b"", body[1]))
        self._dict = None

    def summary(self) -> dict[str, Any]:
        """The list view: no headers, no bodies."""
        return {**{name: getattr(self, name) for name in SUMMARY_FIELDS}, "nearestRoute": self.nearest_route}

    def as_dict(self) -> dict[str, Any]:
        """The admin API's full view (summary, query, headers, bodies, explanation), built once."""
        if self._dict is None:
            request_type = _header(self.raw_headers, "content-type")
            response_type = _header(self.response_headers, "content-type")
            self._dict = {
                **self.summary(),
                "query": self.query,
                "headers": self.headers,
                "requestBody": render_body(self.request_body, request_type),
                "response": {
                    "headers": masked_headers(self.response_headers),
                    "body": render_body(self.response_body, response_type),
                },
                "explanation": self.explanation,
                "nearestRoute": self.nearest_route,
            }
        return self._dict

    def text(self) -> str:
        """What the ``text`` filter searches (built on first use, then kept)."""
        if self._text is None:
            parts = (self.method, self.path, self.query_string, self.operation, self.status, self.error)
            self._text = " ".join(str(part) for part in parts if part).lower()
        return self._text


def _header(pairs: list[tuple[str, str]], name: str) -> str:
    return next((value for key, value in pairs if key == name), "")
