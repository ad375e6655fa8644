"""The served OpenAPI document is FastAPI's own, generated from the routes and ``schemas``.

``openapi.yaml`` next to this file is that document, committed so it can be read and diffed; a test
fails when it drifts from the app. Regenerate with ``python -m mock_server.vendors.decoda.spec``.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import yaml
from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

HEADER = (
    "# Generated from the FastAPI app by `python -m mock_server.vendors.decoda.spec`; do not edit by hand.\n"
    "# Paths, parameters and schemas follow Decoda's openapi.yaml (github.com/decoda-health/docs).\n"
)
SERVERS = [
    {"url": "/decoda", "description": "vendor-sandbox"},
    {"url": "https://api.decodahealth.com", "description": "Decoda Health production"},
]


def document(api: FastAPI) -> dict[str, Any]:
    return get_openapi(
        title=api.title,
        version=api.version,
        openapi_version=api.openapi_version,
        description=api.description,
        routes=api.routes,
        servers=SERVERS,
        separate_input_output_schemas=api.separate_input_output_schemas,
    )


def as_yaml(api: FastAPI) -> str:
    return HEADER + yaml.safe_dump(document(api), sort_keys=False, allow_unicode=True, width=110)


def main() -> None:
    from mock_server.vendors.decoda import lazy_api, routes

    text = as_yaml(lazy_api.build())  # type: ignore[arg-type]
    if "--check" in sys.argv:
        sys.exit(0 if Path(routes.OPENAPI_PATH).read_text(encoding="utf-8") == text else 1)
    Path(routes.OPENAPI_PATH).write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
