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
from mock_server.core.limits import Limits

if TYPE_CHECKING:
    from mock_server.core.sandbox import Sandbox


@dataclass(frozen=True)
class Vendor:
    """Everything the core, the scenario engine, the admin API and the docs need to know about a vendor.

    ``limits`` holds its lifetimes and caps (declared once, in the vendor's folder); ``magic_scenarios``
    is its file of built-in magic-id rules (loaded after user scenarios unless ``--default-scenarios
    false``). Vendors are listed in one registry, :mod:`mock_server.vendors`.
    """

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
    # Record kinds only the fixtures write (clients, static tokens): a shared store (--state-url) keeps
    # them in each process until the next reset instead of asking Redis on every request.
    fixed_kinds: frozenset[str] = frozenset()
    correlation_header: str | None = None
    # Headers every answer of the vendor carries (added unless the answer has them), given the request's
    # path and correlation id: S3 puts x-amz-request-id and x-amz-id-2 on successes as on errors.
    response_headers: Callable[[Sandbox, str, str], Mapping[str, str]] | None = None
    credentials: Sequence[str] = field(default_factory=tuple)
    # Statuses its own error format can express (scenarios are checked against it); None: any 4xx/5xx.
    error_statuses: frozenset[int] | None = None
    # Where routes are mounted: by default all of them under ``/<name>``; a vendor whose URLs
    # live under several roots (storage: /s3 and /gcs) lists them here instead.
    mounts: Mapping[str, Sequence[BaseRoute]] | None = None
    limits: Limits = field(default_factory=Limits)
    magic_scenarios: Path | None = None
    # Loads what the vendor's first request would (libraries imported on first use); ``serve`` calls
    # it in a background thread once the server has answered its first request.
    warm_up: Callable[[], object] | None = None

    @property
    def prefix(self) -> str:
        """``/<name>``: where the vendor's routes are mounted by default."""
        return f"/{self.name}"

    def mount_table(self) -> dict[str, Sequence[BaseRoute]]:
        """Mount prefix -> routes (``mounts`` when given, else everything under :attr:`prefix`)."""
        return dict(self.mounts) if self.mounts is not None else {self.prefix: self.routes}
