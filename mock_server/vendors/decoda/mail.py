"""E-mail attachments (from the fixtures' ``email_messages``): signed download links.

- ``GET /email/attachments/{attachment_id}/download``: ``{"signedUrl"}`` for an attachment already in
  GCS; unknown id (or another tenant's) 404 ``Attachment not found``; not yet downloaded to GCS 404
  ``Attachment not downloaded yet``.
- ``GET /email/messages/{message_id}/attachment-urls``: every downloaded attachment by id, those with a
  ``contentId`` also by content id, and when the links expire; an unknown message 404
  ``Message not found``.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from mock_server.core.clock import iso_z
from mock_server.core.sandbox import Sandbox
from mock_server.vendors.decoda.errors import AttachmentNotFound, NotFound
from mock_server.vendors.decoda.fixtures import EMAIL_BUCKET, VENDOR

KIND = "email-attachment"


def download_url(sandbox: Sandbox, tenant: str, attachment_id: str, base_url: str, lifetime: float) -> str:
    record = sandbox.store.get(VENDOR, tenant, KIND, attachment_id)
    if record is None:
        raise AttachmentNotFound()
    if record["objectKey"] is None:
        raise NotFound("Attachment not downloaded yet")
    return sandbox.storage.download_url(base_url, EMAIL_BUCKET, record["objectKey"], expires_in=lifetime).url


def message_urls(
    sandbox: Sandbox, tenant: str, message_id: str, base_url: str, lifetime: float
) -> dict[str, Any]:
    """``MessageAttachmentUrlsResponse``. Raises: NotFound for an unknown message."""
    records = sandbox.store.list(VENDOR, tenant, KIND, lambda r: r["messageId"] == message_id)
    if not records:
        raise NotFound("Message not found")
    by_content_id: dict[str, dict[str, str]] = {}
    by_attachment_id: dict[str, str] = {}
    expires_at: datetime | None = None
    for record in records:
        if record["objectKey"] is None:
            continue
        issued = sandbox.storage.download_url(
            base_url, EMAIL_BUCKET, record["objectKey"], expires_in=lifetime
        )
        expires_at = issued.expires_at
        by_attachment_id[record["id"]] = issued.url
        if record.get("contentId"):
            by_content_id[record["contentId"]] = {"attachmentId": record["id"], "signedUrl": issued.url}
    if expires_at is None:  # nothing downloaded yet: when links issued now would expire
        remaining = timedelta(seconds=max(0.0, lifetime))
        expires_at = sandbox.clock.now() + remaining
    return {"byContentId": by_content_id, "byAttachmentId": by_attachment_id, "expiresAt": iso_z(expires_at)}
