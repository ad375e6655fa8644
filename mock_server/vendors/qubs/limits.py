"""QUBS's lifetimes and caps, declared once (the README and docs/vendors/qubs.md render this record)."""

from __future__ import annotations

from mock_server.core.limits import Limits

DOWNLOAD_URL_SECONDS_RANGE = (60, 3600)  # urlTtlSeconds is clamped into this range (QUBS docs)

LIMITS = Limits(
    upload_url_seconds=900,  # presigned PUT URLs from createReportAttachments
    download_url_seconds=900,  # read-side URLs when urlTtlSeconds is absent (the spec clamps it to 60..3600)
    token_seconds=3600,  # OAuth client-credentials tokens (expires_in)
    idempotency_seconds={
        "createReportAttachments": 15 * 60,
        "submitReport": 24 * 60 * 60,
        "createComment": 24 * 60 * 60,
    },
    max_upload_bytes=2_097_152,  # per attachment, enforced on the presigned PUT
    max_json_bytes=256 * 1024,
    source="QUBS partner docs (docs/vendors/qubs.md); idempotency windows are the sandbox's choice",
)
