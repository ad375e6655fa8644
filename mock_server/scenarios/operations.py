"""Operation names (``<vendor>.<operationId>``) as the running app defines them.

They come from the route names (``"<vendor>:<operationId>"``), so a vendor that lands is listed
without any registration here; ``GET /__admin/operations`` serves them for discovery.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from starlette.routing import BaseRoute, Mount, Route


def operation_table(routes: Iterable[BaseRoute], prefix: str = "") -> list[dict[str, Any]]:
    """One row per operation: name, vendor, HTTP methods and the path template (mounts included)."""
    rows: dict[str, dict[str, Any]] = {}
    for route in routes:
        if isinstance(route, Mount):
            for row in operation_table(route.routes, prefix + route.path):
                rows.setdefault(row["operation"], row)
            continue
        name = getattr(route, "name", None)
        if not name or ":" not in name or name.startswith("admin:"):
            continue
        operation = name.replace(":", ".", 1)
        methods = sorted(route.methods or ()) if isinstance(route, Route) else []
        if len(methods) > 1:
            methods = [method for method in methods if method != "HEAD"]
        rows.setdefault(
            operation,
            {
                "operation": operation,
                "vendor": name.split(":", 1)[0],
                "methods": methods,
                "path": prefix + getattr(route, "path", ""),
            },
        )
    return sorted(rows.values(), key=lambda row: row["operation"])


def operations(app: Any) -> list[str]:
    """Every operation name the app serves, sorted (admin endpoints excluded: scenarios never touch them)."""
    return [row["operation"] for row in operation_table(app.routes)]
