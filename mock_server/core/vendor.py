"""The record every vendor package exports as ``vendor``.

The app mounts ``routes`` under ``/<name>``; the middleware uses ``name`` and the route names
(``"<vendor>:<operationId>"``) for the journal and scenarios; ``render_error`` turns any
``SandboxError`` into the vendor's native body; ``error_for_status`` lets the scenario engine
produce the vendor's own error for an injected status without knowing the vendor.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from mock_server.core.errors import SandboxError

if TYPE_CHECKING:
    from mock_server.core.sandbox import Sandbox


@dataclass(frozen=True)
class Vendor:
    name: str
    title: str
    routes: Sequence[BaseRoute]
    render_error: Callable[[Request, SandboxError], Response]
    error_for_status: Callable[[int, str | None], SandboxError]
    openapi_path: Path | None = None
    fixtures_schema: Mapping[str, Any] | None = None
    load_fixtures: Callable[[Sandbox, Mapping[str, Any]], None] | None = None
    # core.fixtures.Unique / Ref: ids and references the schema cannot check, refused with file and path.
    fixture_rules: Sequence[Any] = ()
    buckets: Sequence[str] = ()  # created in the embedded S3 before fixtures load
    correlation_header: str | None = None
    credentials: Sequence[str] = field(default_factory=tuple)
    # Statuses its own error format can express (scenarios are checked against it); None: any 4xx/5xx.
    error_statuses: frozenset[int] | None = None
    # Where routes are mounted: by default all of them under ``/<name>``; a vendor whose URLs
    # live under several roots (storage: /s3 and /gcs) lists them here instead.
    mounts: Mapping[str, Sequence[BaseRoute]] | None = None

    @property
    def prefix(self) -> str:
        return f"/{self.name}"

    def mount_table(self) -> dict[str, Sequence[BaseRoute]]:
        return dict(self.mounts) if self.mounts is not None else {self.prefix: self.routes}
