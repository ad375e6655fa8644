"""Candid's lifetimes and caps, declared once (the README and docs/vendors/candid.md render this record)."""

from __future__ import annotations

from mock_server.core.limits import Limits

LIMITS = Limits(
    download_url_seconds=3600,  # authed_url of an attachment listing
    token_seconds=18000,  # "The bearer token expires 5 hours after it has been created"
    max_upload_bytes=25 * 1024 * 1024,  # "The maximum file size is 25MB"
    max_json_bytes=64 * 1024,
    source="Candid's API reference (docs/vendors/candid.md)",
)
