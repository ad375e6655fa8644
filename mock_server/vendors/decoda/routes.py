"""Decoda's endpoints, mounted at ``/decoda``: parse -> auth -> validate -> models -> render.

Route names are ``decoda:<operationId>`` with the operationIds of ``openapi.yaml``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from mock_server.core.bodies import read_json_bytes
from mock_server.core.errors import BodyTooLarge
from mock_server.core.multipart import FilePart
from mock_server.core.openapi import OpenApiDocument
from mock_server.core.sandbox import Sandbox
from mock_server.vendors.decoda import auth, fixtures, forms, models, uploads, validation
from mock_server.vendors.decoda.errors import PayloadTooLarge

OPENAPI_PATH = Path(__file__).with_name("openapi.yaml")
DOCUMENT = OpenApiDocument(OPENAPI_PATH)  # read-only: the parsed spec and its compiled validators
JSON_BODY_LIMIT = 1024 * 1024


def _sandbox(request: Request) -> Sandbox:
    return request.app.state.sandbox


def _authenticated(request: Request, operation_id: str) -> tuple[Sandbox, str, dict[str, Any]]:
    """Raises: RequestValidationError for parameter problems, InvalidApiKey for a wrong key."""
    sandbox = _sandbox(request)
    params, issues = validation.parameters(DOCUMENT, operation_id, request)
    validation.raise_if_any(issues)
    return sandbox, auth.authenticate(sandbox, params["TENANT"], params["API-KEY"]), params


def _render(request: Request, sandbox: Sandbox, tenant: str, records: Sequence[dict]) -> list[dict[str, Any]]:
    lifetime = sandbox.lifetime(request, fixtures.config(sandbox).signed_url_seconds)
    base_url = sandbox.base_url(request)
    return [models.attachment_response(sandbox, tenant, record, base_url, lifetime) for record in records]


async def _received_upload(request: Request, operation_id: str) -> tuple[Sandbox, str, forms.FormData, dict]:
    """Headers checked (and the key, when both are present) before the body is read; then one 422 for all.

    Raises: RequestValidationError, InvalidApiKey, BadRequest / PayloadTooLarge for the body.
    """
    sandbox = _sandbox(request)
    params, issues = validation.parameters(DOCUMENT, operation_id, request)
    tenant = "" if issues else auth.authenticate(sandbox, params["TENANT"], params["API-KEY"])
    form = await forms.read_form(request, fixtures.config(sandbox))
    fields, body_issues = validation.form_body(DOCUMENT, operation_id, form)
    if issues or body_issues:
        form.close()
        validation.raise_if_any(issues + body_issues)
    return sandbox, tenant, form, fields


async def _store(
    sandbox: Sandbox, tenant: str, fields: dict[str, Any], planned: list[models.NewAttachment]
) -> list[dict[str, Any]]:
    """Raises: PatientNotFound, NoteNotFound, BadRequest (note of another patient)."""
    patient = models.get_patient(sandbox, tenant, fields["patient_id"])
    if fields.get("note_id") is not None:
        models.get_note(sandbox, tenant, fields["note_id"], patient["id"])
    return await run_in_threadpool(
        models.create_attachments, sandbox, tenant, patient["id"], fields.get("note_id"), planned
    )


async def upload_attachments_bulk(request: Request) -> Response:
    sandbox, tenant, form, fields = await _received_upload(request, "uploadAttachmentsBulk")
    try:
        files: list[FilePart] = fields.get("attachments", [])
        names = uploads.aligned(fields.get("names"), "names", len(files))
        external_ids = uploads.aligned(fields.get("external_ids"), "external_ids", len(files))
        records = await _store(sandbox, tenant, fields, models.plan_attachments(files, names, external_ids))
    finally:
        form.close()
    return JSONResponse({"attachments": _render(request, sandbox, tenant, records)})


async def upload_attachment(request: Request) -> Response:
    sandbox, tenant, form, fields = await _received_upload(request, "uploadAttachment")
    try:
        planned = models.plan_attachments([fields["attachment"]], [fields.get("name")], [None])
        records = await _store(sandbox, tenant, fields, planned)
    finally:
        form.close()
    return JSONResponse(_render(request, sandbox, tenant, records)[0])


async def list_attachments(request: Request) -> Response:
    sandbox, tenant, params = _authenticated(request, "listAttachments")
    if params["note_id"] is not None:
        records = models.attachments_for_note(sandbox, tenant, params["note_id"], params["patient_id"])
        return JSONResponse(_render(request, sandbox, tenant, records))
    page = models.day_page(sandbox, tenant, params["tz"], params["date"], params["patient_id"])
    return JSONResponse(
        {
            "date": page.day.isoformat(),
            "data": _render(request, sandbox, tenant, page.records),
            "nextDate": page.next_date.isoformat() if page.next_date else None,
        }
    )


async def link_attachments_to_note(request: Request) -> Response:
    sandbox = _sandbox(request)
    params, issues = validation.parameters(DOCUMENT, "linkAttachmentsToNote", request)
    tenant = "" if issues else auth.authenticate(sandbox, params["TENANT"], params["API-KEY"])
    try:
        raw = await read_json_bytes(request.stream(), JSON_BODY_LIMIT)
    except BodyTooLarge as exc:
        raise PayloadTooLarge(f"Request body too large: the limit is {JSON_BODY_LIMIT} bytes") from exc
    content_type = request.headers.get("content-type")
    body, body_issues = validation.json_body(DOCUMENT, "linkAttachmentsToNote", content_type, raw)
    validation.raise_if_any(issues + body_issues)
    records = models.link_to_note(sandbox, tenant, body["noteId"], body["attachmentIds"])
    return JSONResponse(_render(request, sandbox, tenant, records))


async def get_patient(request: Request) -> Response:
    sandbox, tenant, params = _authenticated(request, "getPatient")
    return JSONResponse(models.patient_response(models.get_patient(sandbox, tenant, params["patient_id"])))


async def openapi(request: Request) -> Response:
    return Response(DOCUMENT.json_bytes, media_type="application/json")


routes = [
    Route(
        "/attachments/bulk", upload_attachments_bulk, methods=["POST"], name="decoda:uploadAttachmentsBulk"
    ),
    Route(
        "/attachments/link-to-note",
        link_attachments_to_note,
        methods=["POST"],
        name="decoda:linkAttachmentsToNote",
    ),
    Route("/attachments", upload_attachment, methods=["POST"], name="decoda:uploadAttachment"),
    Route("/attachments", list_attachments, methods=["GET"], name="decoda:listAttachments"),
    Route("/user/patient/{patient_id}", get_patient, methods=["GET"], name="decoda:getPatient"),
    Route("/openapi.json", openapi, methods=["GET"], name="decoda:openapi"),
]
