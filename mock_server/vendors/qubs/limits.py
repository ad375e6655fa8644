"""QUBS's lifetimes and caps, declared once (the README and docs/vendors/qubs.md render this record)."""

from __future__ import annotations

from mock_server.core.limits import Limits
from mock_server.vendors.qubs.spec import DOCUMENT

# urlTtlSeconds (openapi.yaml): its default and the range it is clamped into (QUBS docs).
_URL_TTL = DOCUMENT.parameter_schema("getAppointmentAttachment", "urlTtlSeconds")
DOWNLOAD_URL_SECONDS_RANGE = (_URL_TTL["x-clamped-to"][0], _URL_TTL["x-clamped-to"][1])

LIMITS = Limits(
    upload_url_seconds=900,  # presigned PUT URLs from createReportAttachments
    download_url_seconds=_URL_TTL["default"],  # read-side URLs when urlTtlSeconds is absent
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
