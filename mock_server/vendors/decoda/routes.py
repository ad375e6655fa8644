"""Decoda's FastAPI app and its upload, listing, patient and e-mail path operations.

Route names are ``decoda:<operationId>`` (the journal's and the scenarios' operation names); the
operationIds are the sandbox's short names, paths and parameters are Decoda's. Handlers are thin:
FastAPI validates, the ``models``/``edits``/``tags``/``sources``/``mail`` modules do the work.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, File, Form, Query, Request, UploadFile
from starlette.responses import Response

from mock_server.core.errors import BodyTooLarge
from mock_server.core.multipart import FilePart
from mock_server.core.openapi import OpenApiDocument
from mock_server.core.sandbox import Sandbox
from mock_server.vendors.decoda import edits, fixtures, mail, models, sources, uploads
from mock_server.vendors.decoda import schemas as s
from mock_server.vendors.decoda.api import SandboxDep, Tenant, build_api
from mock_server.vendors.decoda.errors import PayloadTooLarge, RequestValidationError

OPENAPI_PATH = Path(__file__).with_name("openapi.yaml")
DOCUMENT = OpenApiDocument(OPENAPI_PATH)  # read-only: the served document (generated from this app)

# The app itself (not an included APIRouter): its routes are plain APIRoutes named ``decoda:<operationId>``,
# which the core's route resolution finds inside the mount.
api = build_api()
router = api.router
_ERROR_TEXT = {
    400: "Bad request (note or attachment of another patient, not an image, broken multipart body).",
    401: "The API-KEY is not the active key of the TENANT.",
    404: "Unknown patient, note, attachment or tag in this tenant.",
    409: "An attachment tag with this name already exists.",
    413: "The request body or one file is larger than its cap.",
}
INJECTED = (400, 401, 403, 404, 409, 429, 502, 503, 504)  # what a scenario may answer instead
# No "default" response: FastAPI would then leave out its own 422 (HTTPValidationError).
PLAIN_500 = {
    500: {
        "description": "Unhandled server error (plain text).",
        "content": {"text/plain": {"schema": {"type": "string"}}},
    }
}


def op(
    method: str,
    path: str,
    operation_id: str,
    model: Any,
    summary: str,
    errors: Sequence[int] = (401, 404),
    router: APIRouter = router,
    **extra: Any,
) -> Any:
    """Declare one path operation with its refusals (``errors``) and the statuses scenarios may inject."""
    responses: dict[int | str, dict[str, Any]] = {
        code: {"model": s.HTTPError, "description": _ERROR_TEXT.get(code, "Injected by a scenario.")}
        for code in sorted({*errors, *INJECTED})
    }
    return router.api_route(
        path,
        methods=[method],
        name=f"decoda:{operation_id}",
        operation_id=operation_id,
        summary=summary,
        response_model=model,
        responses={**responses, **PLAIN_500},
        **extra,
    )


def render(request: Request, sandbox: Sandbox, tenant: str, records: Sequence[dict]) -> list[dict[str, Any]]:
    lifetime = sandbox.lifetime(request, fixtures.config(sandbox).signed_url_seconds)
    base_url = sandbox.base_url(request)
    return [models.attachment_response(sandbox, tenant, record, base_url, lifetime) for record in records]


def received(sandbox: Sandbox, upload: UploadFile) -> FilePart:
    """The upload as a ``FilePart``. Raises: PayloadTooLarge over the per-file cap."""
    limit = fixtures.config(sandbox).max_file_bytes
    try:
        body = uploads.spool(upload.file, limit)
    except BodyTooLarge as exc:
        raise PayloadTooLarge(f"File too large: each attachment may be at most {limit} bytes") from exc
    return FilePart("file", upload.filename or "", upload.content_type, body)


def store(
    sandbox: Sandbox, tenant: str, patient_id: str, note_id: str | None, planned: list[models.NewAttachment]
) -> list[dict[str, Any]]:
    """Raises: PatientNotFound, NoteNotFound, BadRequest (note of another patient)."""
    patient = models.get_patient(sandbox, tenant, patient_id)
    if note_id is not None:
        models.get_note(sandbox, tenant, note_id, patient["id"])
    return models.create_attachments(sandbox, tenant, patient["id"], note_id, planned)


def zone_of(tz: str) -> ZoneInfo:
    """Raises: RequestValidationError (pydantic's ``zoneinfo_str``) for an unknown zone."""
    try:
        return ZoneInfo(tz)
    except Exception as exc:  # ZoneInfoNotFoundError, ValueError (bad key), OSError...
        raise RequestValidationError(
            [
                {
                    "type": "zoneinfo_str",
                    "loc": ["query", "tz"],
                    "msg": f"invalid timezone: {tz}",
                    "input": tz,
                    "ctx": {"value": tz},
                }
            ]
        ) from exc


Form_ = Annotated[str | None, Form()]


@op(
    "POST",
    "/attachments/bulk",
    "uploadAttachmentsBulk",
    s.BulkAttachmentUploadResponse,
    "Add Attachments Bulk",
    (400, 401, 404, 413),
)
def upload_attachments_bulk(
    request: Request,
    sandbox: SandboxDep,
    tenant: Tenant,
    *,
    attachments: Annotated[list[UploadFile], File()] = [],  # noqa: B006 (FastAPI copies defaults)
    patient_id: Annotated[str, Form()],
    note_id: Form_ = None,
    names: Form_ = None,
    external_ids: Form_ = None,
) -> Any:
    parts: list[FilePart] = []
    try:
        parts += (received(sandbox, upload) for upload in attachments)
        aligned_names = uploads.aligned(names, "names", len(parts))
        aligned_ids = uploads.aligned(external_ids, "external_ids", len(parts))
        planned = models.plan_attachments(parts, aligned_names, aligned_ids)
        records = store(sandbox, tenant, patient_id, note_id, planned)
    finally:
        for part in parts:
            part.body.close()  # no-op for bodies the object store took over
    return {"attachments": render(request, sandbox, tenant, records)}


@op(
    "POST",
    "/attachments",
    "uploadAttachment",
    s.NoteAttachmentResponse,
    "Add Attachment",
    (400, 401, 404, 413),
)
def upload_attachment(
    request: Request,
    sandbox: SandboxDep,
    tenant: Tenant,
    *,
    attachment: Annotated[UploadFile, File()],
    patient_id: Annotated[str, Form()],
    note_id: Form_ = None,
    name: Form_ = None,
    external_id: Form_ = None,
    answer_id: Form_ = None,
) -> Any:
    part = received(sandbox, attachment)
    try:
        planned = models.plan_attachments([part], [name], [external_id], answer_id)
        records = store(sandbox, tenant, patient_id, note_id, planned)
    finally:
        part.body.close()
    return render(request, sandbox, tenant, records)[0]


@op(
    "GET",
    "/attachments",
    "listAttachments",
    s.AttachmentDayPage | list[s.NoteAttachmentResponse],
    "Get Attachments",
    (401,),
)
def list_attachments(
    request: Request,
    sandbox: SandboxDep,
    tenant: Tenant,
    tz: str,
    date: dt.date | None = None,
    patient_id: str | None = None,
    note_id: str | None = None,
    tag_ids: Annotated[list[str] | None, Query()] = None,
    tagIds: Annotated[list[str] | None, Query()] = None,  # noqa: N803
) -> Any:
    zone, tags = zone_of(tz), [*(tag_ids or []), *(tagIds or [])]
    if note_id is not None:
        records = models.attachments_for_note(sandbox, tenant, note_id, patient_id, tags)
        return render(request, sandbox, tenant, records)
    page = models.day_page(sandbox, tenant, zone, date, patient_id, tags)
    data = render(request, sandbox, tenant, page.records)
    return {"date": page.day, "data": data, "nextDate": page.next_date}


@op(
    "POST",
    "/attachments/link-to-note",
    "linkAttachmentsToNote",
    list[s.NoteAttachmentResponse],
    "Link Attachments To Note",
    (400, 401, 404, 413),
)
def link_attachments_to_note(
    request: Request, sandbox: SandboxDep, tenant: Tenant, body: s.LinkAttachmentsToNoteRequest
) -> Any:
    records = models.link_to_note(sandbox, tenant, body.noteId, body.attachmentIds)
    return render(request, sandbox, tenant, records)


@op("GET", "/attachments/count", "countAttachments", int, "Get Attachments Count", (401,))
def count_attachments(
    sandbox: SandboxDep, tenant: Tenant, patient_id: str | None = None, note_id: str | None = None
) -> Any:
    return edits.count(sandbox, tenant, patient_id, note_id)


@op("PUT", "/attachments/bulk-names", "bulkRenameAttachments", bool, "Bulk Update Attachment Names")
def bulk_rename_attachments(sandbox: SandboxDep, tenant: Tenant, body: s.BulkAttachmentNameUpdate) -> Any:
    return edits.rename_many(sandbox, tenant, [(item.attachmentId, item.name) for item in body.updates])


@op(
    "POST",
    "/attachments/create-comparison",
    "createComparisonAttachment",
    s.NoteAttachmentResponse,
    "Create Comparison Attachment",
    (400, 401, 404),
)
def create_comparison_attachment(
    request: Request, sandbox: SandboxDep, tenant: Tenant, body: s.CreateComparisonAttachmentRequest
) -> Any:
    record = edits.create_comparison(
        sandbox,
        tenant,
        body.beforeAttachmentId,
        body.afterAttachmentId,
        body.patientId,
        body.noteId,
        body.name,
    )
    return render(request, sandbox, tenant, [record])[0]


@op(
    "POST",
    "/notes/{note_id}/attachment-from-url",
    "addNoteAttachmentFromUrl",
    s.NoteAttachmentResponse,
    "Add Note Attachment From Url",
)
def add_note_attachment_from_url(
    request: Request, sandbox: SandboxDep, tenant: Tenant, note_id: str, body: s.NoteAttachmentFromUrlRequest
) -> Any:
    note = models.get_note(sandbox, tenant, note_id)
    source = sources.read_source(sandbox, tenant, body.gcsPath, sandbox.base_url(request))
    part = FilePart("file", source.filename, source.content_type, source.body)
    planned = models.plan_attachments([part], [body.name], [body.externalId], body.answerId)
    records = models.create_attachments(sandbox, tenant, note["patientId"], note_id, planned)  # closes part
    return render(request, sandbox, tenant, records)[0]


@op("GET", "/user/patient/{patient_id}", "getPatient", s.PatientChart, "Get Patient")
def get_patient(sandbox: SandboxDep, tenant: Tenant, patient_id: str) -> Any:
    return models.patient_chart(models.get_patient(sandbox, tenant, patient_id))


def _link_lifetime(request: Request, sandbox: Sandbox) -> tuple[str, float]:
    return sandbox.base_url(request), sandbox.lifetime(request, fixtures.config(sandbox).signed_url_seconds)


@op(
    "GET",
    "/email/attachments/{attachment_id}/download",
    "downloadEmailAttachment",
    s.SignedPreviewResponse,
    "Download Attachment",
)
def download_email_attachment(
    request: Request, sandbox: SandboxDep, tenant: Tenant, attachment_id: str
) -> Any:
    return {"signedUrl": mail.download_url(sandbox, tenant, attachment_id, *_link_lifetime(request, sandbox))}


@op(
    "GET",
    "/email/messages/{message_id}/attachment-urls",
    "getMessageAttachmentUrls",
    s.MessageAttachmentUrlsResponse,
    "Get Message Attachment Urls",
)
def get_message_attachment_urls(
    request: Request, sandbox: SandboxDep, tenant: Tenant, message_id: str
) -> Any:
    return mail.message_urls(sandbox, tenant, message_id, *_link_lifetime(request, sandbox))


@router.get(
    "/openapi.json",
    name="decoda:openapi",
    operation_id="openapi",
    summary="This document, as JSON",
    response_class=Response,
    responses={
        200: {
            "content": {
                "application/json": {"schema": {"type": "object", "required": ["openapi", "info", "paths"]}}
            }
        },
        **PLAIN_500,
    },
)
def openapi() -> Response:
    return Response(DOCUMENT.json_bytes, media_type="application/json")
