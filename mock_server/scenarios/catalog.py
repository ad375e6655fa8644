"""What a scenario may name: every operation of every vendor, from the vendors' own route tables.

Operation names, methods and path parameters come from the routes (``"<vendor>:<operationId>"``),
so a new route is known to ``mock-server validate``, start-up and ``POST /__admin/scenarios`` at
once. Headers, query parameters and body fields come from the operation in the vendor's
``openapi.yaml`` when it documents one; an operation without one (storage, ``<vendor>.openapi``)
accepts any name there. Headers every HTTP client may send (``User-Agent``, tracing headers, ...)
are always allowed. A vendor's document is read the first time one of those names is asked about
(building the catalog reads no document: Decoda's alone costs more than the rest of start-up).
"""

from __future__ import annotations

import difflib
import functools
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

from starlette.routing import Mount, Route

from mock_server.core.openapi import OpenApiDocument
from mock_server.core.vendor import Vendor
from mock_server.scenarios.operations import operation_table

# Sent by clients, proxies and SDKs whatever the vendor documents (matching them is legitimate).
COMMON_HEADERS = frozenset(
    """accept accept-encoding accept-language authorization cache-control connection content-encoding
    content-length content-md5 content-type cookie expect forwarded host if-match if-none-match
    if-modified-since if-unmodified-since origin range referer traceparent tracestate user-agent
    x-correlation-id x-forwarded-for x-forwarded-host x-forwarded-proto x-request-id
    idempotency-key""".split()
)


class Documentation:
    """The names one vendor's ``openapi.yaml`` documents per operation, read on the first question."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._found: dict[str, dict[str, frozenset[str] | None]] = {}

    def of(self, operation_id: str) -> dict[str, frozenset[str] | None]:
        with self._lock:
            if operation_id not in self._found:
                self._found[operation_id] = _documented(_document(self.path), operation_id)
            return self._found[operation_id]


@dataclass(frozen=True)
class Operation:
    """One operation a scenario may name. ``headers``, ``query``, ``json_fields`` and ``form_fields``
    are None where the vendor documents nothing (any name is accepted there)."""

    name: str
    vendor: str
    methods: tuple[str, ...]
    path: str
    path_params: frozenset[str]
    docs: Documentation | None = field(default=None, repr=False, compare=False)

    def _documented(self, kind: str) -> frozenset[str] | None:
        return self.docs.of(self.name.split(".", 1)[1]).get(kind) if self.docs is not None else None

    @property
    def headers(self) -> frozenset[str] | None:
        return self._documented("headers")

    @property
    def query(self) -> frozenset[str] | None:
        return self._documented("query")

    @property
    def json_fields(self) -> frozenset[str] | None:
        return self._documented("json_fields")

    @property
    def form_fields(self) -> frozenset[str] | None:
        return self._documented("form_fields")


def suggest(name: str, known: Iterable[str]) -> str:
    """`` (did you mean X?)`` for the closest known name, or nothing when none is close."""
    close = difflib.get_close_matches(name, sorted(set(known)), n=1, cutoff=0.6)
    return f" (did you mean {close[0]}?)" if close else ""


@functools.cache
def _document(path: Path) -> OpenApiDocument:
    """A vendor's parsed spec, read once per process (read-only, like the vendors' own ``DOCUMENT``).

    Parsed with libyaml when present (about ten times faster than the pure-Python loader): the
    catalog is built at every start, so it must not add seconds to it.
    """
    return OpenApiDocument(path)  # the parse itself is shared: openapi.parsed_document


def _route_params(vendor: Vendor) -> dict[str, frozenset[str]]:
    params: dict[str, set[str]] = {}

    def walk(routes: Iterable[Any], inherited: frozenset[str]) -> None:
        for route in routes:
            if not isinstance(route, Route | Mount):
                continue
            own = set(route.param_convertors)
            if isinstance(route, Mount):
                own.discard("path")  # Mount's own catch-all for the rest of the URL, not a parameter
            found = inherited | frozenset(own)
            name = getattr(route, "name", "") or ""
            if ":" in name:
                params.setdefault(name.replace(":", ".", 1), set()).update(found)
            if isinstance(route, Mount):  # a mounted app (Decoda's FastAPI) brings its own routes
                walk(route.routes, found)

    for routes in vendor.mount_table().values():
        walk(routes, frozenset())
    return {name: frozenset(found) for name, found in params.items()}


def _properties(document: OpenApiDocument, schema: Mapping[str, Any] | None) -> frozenset[str] | None:
    if not schema:
        return None
    schema = document.resolve(dict(schema))
    if schema.get("type") == "array":
        return frozenset({"*", *[str(i) for i in range(100)]})
    names: set[str] = set(schema.get("properties", {}))
    for branch in (*schema.get("allOf", ()), *schema.get("oneOf", ()), *schema.get("anyOf", ())):
        names |= _properties(document, branch) or set()
    return frozenset(names) if names or "properties" in schema else None


def _documented(document: OpenApiDocument, operation_id: str) -> dict[str, frozenset[str] | None]:
    if operation_id not in document.operations:
        return {}
    _, _, operation = document.operations[operation_id]
    params = [document.resolve(p) for p in operation.get("parameters", [])]
    schemes = document.document.get("components", {}).get("securitySchemes", {})
    headers = {p["name"].lower() for p in params if p.get("in") == "header"}
    headers |= {s["name"].lower() for s in schemes.values() if s.get("in") == "header" and "name" in s}
    content = operation.get("requestBody", {}).get("content", {})
    form = content.get("multipart/form-data") or content.get("application/x-www-form-urlencoded") or {}
    json_schema = content.get("application/json", {}).get("schema")
    return {
        "headers": frozenset(headers),
        "query": frozenset(p["name"] for p in params if p.get("in") == "query"),
        # No such body documented: no field of it can be matched; a free-form body: any field.
        "json_fields": _properties(document, json_schema) if json_schema else frozenset(),
        "form_fields": _properties(document, form.get("schema")) if form.get("schema") else frozenset(),
    }


@dataclass(frozen=True)
class Catalog:
    operations: Mapping[str, Operation]
    vendors: Mapping[str, Vendor]

    @classmethod
    def of(cls, vendors: Mapping[str, Vendor]) -> Catalog:
        """Build the catalog of ``vendors`` (each vendor's openapi.yaml is read when first needed, once)."""
        operations: dict[str, Operation] = {}
        for vendor in vendors.values():
            params = _route_params(vendor)
            docs = Documentation(vendor.openapi_path) if vendor.openapi_path else None
            mounts = [Mount(prefix, routes=list(routes)) for prefix, routes in vendor.mount_table().items()]
            for row in operation_table(mounts):
                operations[row["operation"]] = Operation(
                    name=row["operation"],
                    vendor=row["vendor"],
                    methods=tuple(row["methods"]),
                    path=row["path"],
                    path_params=params.get(row["operation"], frozenset()),
                    docs=docs,
                )
        return cls(operations, dict(vendors))

    def expand(self, patterns: Iterable[str], field: str) -> tuple[list[str], list[str]]:
        """(matching names, problems) for vendor or operation names, ``*`` wildcards allowed."""
        known = sorted(self.vendors) if field == "vendor" else sorted(self.operations)
        found: list[str] = []
        problems: list[str] = []
        for pattern in patterns:
            hits = [name for name in known if fnmatchcase(name, pattern)]
            if not hits:
                noun = "vendor" if field == "vendor" else "operation"
                hint = suggest(pattern, known) if "*" not in pattern else ""
                problems.append(f"unknown {noun} {pattern!r}{hint}")
            found += hits
        return found, problems
