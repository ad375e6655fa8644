"""Decoda's attachment tag catalogue: ``/attachments/tags`` and ``/attachments/tags/{tag_id}``."""

from __future__ import annotations

from typing import Any

from mock_server.vendors.decoda import models, tags
from mock_server.vendors.decoda import schemas as s
from mock_server.vendors.decoda.api import SandboxDep, Tenant
from mock_server.vendors.decoda.routes import op


@op(
    "GET",
    "/attachments/tags",
    "getAttachmentTags",
    s.Page[s.NoteAttachmentTagSummary],
    "Get Attachment Tags",
    (401,),
)
def get_attachment_tags(
    sandbox: SandboxDep,
    tenant: Tenant,
    name: str | None = None,
    page: int | None = None,
    per_page: int | None = None,
    sort_by: str | None = None,
    sort_direction: s.SortDirection | None = None,
    location_id: str | None = None,
) -> Any:
    return tags.listing(sandbox, tenant, name, page, per_page, sort_by, sort_direction)


@op(
    "POST",
    "/attachments/tags",
    "createAttachmentTag",
    s.NoteAttachmentTagSummary,
    "Create Attachment Tag",
    (401, 409),
)
def create_attachment_tag(sandbox: SandboxDep, tenant: Tenant, body: s.NoteAttachmentTagCreate) -> Any:
    return models.tag_summary(tags.create(sandbox, tenant, body.name, body.color))


@op("GET", "/attachments/tags/{tag_id}", "getAttachmentTag", s.NoteAttachmentTagSummary, "Get Attachment Tag")
def get_attachment_tag(sandbox: SandboxDep, tenant: Tenant, tag_id: str) -> Any:
    return models.tag_summary(tags.get(sandbox, tenant, tag_id))


@op(
    "PUT",
    "/attachments/tags/{tag_id}",
    "updateAttachmentTag",
    s.NoteAttachmentTagSummary,
    "Update Attachment Tag",
    (401, 404, 409),
)
def update_attachment_tag(
    sandbox: SandboxDep, tenant: Tenant, tag_id: str, body: s.NoteAttachmentTagUpdate
) -> Any:
    return models.tag_summary(tags.update(sandbox, tenant, tag_id, body.name, body.color))


@op("DELETE", "/attachments/tags/{tag_id}", "deleteAttachmentTag", dict[str, str], "Delete Attachment Tag")
def delete_attachment_tag(sandbox: SandboxDep, tenant: Tenant, tag_id: str) -> Any:
    return tags.delete(sandbox, tenant, tag_id)
