"""The vendor's OpenAPI document (openapi.yaml next to this module), loaded once.

Request validation, the served ``/saferme/openapi.json`` and every enum or range the code needs come from
here: the document is the only place they are written.
"""

from __future__ import annotations

from pathlib import Path

from mock_server.core.openapi import OpenApiDocument

OPENAPI_PATH = Path(__file__).with_name("openapi.yaml")
DOCUMENT = OpenApiDocument(OPENAPI_PATH)
