"""Decoda's operations on one attachment (``/attachments/{attachment_id}...``) and its tags.

Registered after the static ``/attachments/...`` paths and the tag routes, so ``/attachments/tags/x``
stays a tag path, as in Decoda's route order.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Body, File, Request, UploadFile

from mock_server.vendors.decoda import edits, tags
from mock_server.vendors.decoda import schemas as s
from mock_server.vendors.decoda.api import SandboxDep, Tenant
from mock_server.vendors.decoda.routes import op, received, render

Annotations = Annotated[dict[str, Any], Body(title="Annotations")]


@op("DELETE", "/attachments/{attachment_id}", "deleteAttachment", bool, "Delete Note Attachment")
def delete_attachment(sandbox: SandboxDep, tenant: Tenant, attachment_id: str) -> Any:
    return edits.delete(sandbox, tenant, attachment_id)


@op("PUT", "/attachments/{attachment_id}/name", "renameAttachment", bool, "Update Attachment Name")
def rename_attachment(
    sandbox: SandboxDep, tenant: Tenant, attachment_id: str, body: s.NoteAttachmentNameUpdate
) -> Any:
    return edits.rename(sandbox, tenant, attachment_id, body.name)


@op(
    "PUT",
    "/attachments/{attachment_id}/patient",
    "changeAttachmentPatient",
    bool,
    "Change Attachment Patient",
)
def change_attachment_patient(
    sandbox: SandboxDep, tenant: Tenant, attachment_id: str, body: s.ChangeAttachmentPatientRequest
) -> Any:
    return edits.change_patient(sandbox, tenant, attachment_id, body.patientId)


@op(
    "PUT",
    "/attachments/{attachment_id}/image",
    "updateAttachmentImage",
    s.NoteAttachmentResponse,
    "Update Attachment Image",
    (400, 401, 404, 413),
)
def update_attachment_image(
    request: Request,
    sandbox: SandboxDep,
    tenant: Tenant,
    attachment_id: str,
    file: Annotated[UploadFile, File()],
) -> Any:
    record = edits.replace_image(sandbox, tenant, attachment_id, received(sandbox, file))
    return render(request, sandbox, tenant, [record])[0]


@op(
    "PUT",
    "/attachments/{attachment_id}/annotations",
    "updateAttachmentAnnotations",
    bool,
    "Update Attachment Annotations",
)
def update_attachment_annotations(
    sandbox: SandboxDep, tenant: Tenant, attachment_id: str, annotations: Annotations
) -> Any:
    return edits.set_annotations(sandbox, tenant, attachment_id, edits.annotations_of(annotations))


@op(
    "GET",
    "/attachments/{attachment_id}/annotation-history",
    "getAttachmentAnnotationHistory",
    list[s.NoteAttachmentResponse],
    "Get Attachment Annotation History",
)
def get_attachment_annotation_history(
    request: Request, sandbox: SandboxDep, tenant: Tenant, attachment_id: str
) -> Any:
    return render(request, sandbox, tenant, edits.history(sandbox, tenant, attachment_id))


@op(
    "POST",
    "/attachments/{attachment_id}/restore-annotations/{history_id}",
    "restoreAttachmentAnnotations",
    bool,
    "Restore Attachment Annotations",
)
def restore_attachment_annotations(
    sandbox: SandboxDep, tenant: Tenant, attachment_id: str, history_id: str
) -> Any:
    return edits.restore_annotations(sandbox, tenant, attachment_id, history_id)


@op(
    "POST",
    "/attachments/{attachment_id}/duplicate",
    "duplicateAttachment",
    s.NoteAttachmentResponse,
    "Duplicate Attachment",
)
def duplicate_attachment(request: Request, sandbox: SandboxDep, tenant: Tenant, attachment_id: str) -> Any:
    return render(request, sandbox, tenant, [edits.duplicate(sandbox, tenant, attachment_id)])[0]


@op(
    "POST",
    "/attachments/{attachment_id}/tags",
    "assignAttachmentTags",
    dict[str, str],
    "Assign Attachment Tags",
)
def assign_attachment_tags(
    sandbox: SandboxDep, tenant: Tenant, attachment_id: str, body: s.NoteAttachmentTagAssignment
) -> Any:
    return tags.assign(sandbox, tenant, attachment_id, body.tagIds)


@op(
    "GET",
    "/attachments/{attachment_id}/tags",
    "getAttachmentTagsForAttachment",
    list[s.NoteAttachmentTagSummary],
    "Get Attachment Tags For Attachment",
)
def get_attachment_tags_for_attachment(sandbox: SandboxDep, tenant: Tenant, attachment_id: str) -> Any:
    return tags.of_attachment(sandbox, tenant, attachment_id)
