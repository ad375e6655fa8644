"""Decoda's lifetimes and caps, declared once (the README and docs/vendors/decoda.md render this record).

The fixture settings ``decoda.limits`` and ``decoda.signed_url_seconds`` override these defaults.
"""

from __future__ import annotations

from mock_server.core.limits import Limits

MB = 1024 * 1024
MAX_SIGNED_URL_SECONDS = 604800  # GCS V4 signed URLs live at most 7 days (the fixture's upper bound)

LIMITS = Limits(
    download_url_seconds=3600,  # signedUrl / thumbnailSignedUrl (GCS V4: at most 604800)
    max_upload_bytes=25 * MB,
    max_request_bytes=100 * MB,
    overridable={
        "download_url_seconds": "decoda.signed_url_seconds",
        "max_upload_bytes": "decoda.limits.max_file_bytes",
        "max_request_bytes": "decoda.limits.max_request_bytes",
    },
    source="Decoda's API reference; caps are the sandbox's defaults where Decoda documents none",
)
