"""Candid Health routes (mounted at ``/candid``): OAuth token, the seven encounter-attachment
endpoints, the sandbox-only charge-capture conversion and the OpenAPI document.

Route names are ``candid:<operationId>`` (openapi.yaml). Handlers: parse -> auth -> validate ->
models -> render; every refusal is raised as a Candid error and rendered by errors.render.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from mock_server.core.jsontext import JSONResponse, array
from mock_server.core.openapi import ValidationIssue, check_parameters
from mock_server.core.requests import sandbox_of
from mock_server.vendors.candid import models
from mock_server.vendors.candid.auth import authenticate, check_rate_limit, client_for, issue_token
from mock_server.vendors.candid.bodies import read_json_body, read_token_body, receive_upload
from mock_server.vendors.candid.errors import HttpRequestValidationError
from mock_server.vendors.candid.spec import DOCUMENT

V1 = "/api/encounter-attachments/v1"


def _path(request: Request, operation_id: str) -> dict[str, Any]:
    """The operation's path parameters, checked against openapi.yaml by core.openapi (``encounter_id``
    a UUID, lower-cased here; ``charge_capture_external_id`` not empty).

    Raises: HttpRequestValidationError naming the first failing parameter (422).
    """

    def error(issues: list[ValidationIssue]) -> HttpRequestValidationError:
        issue = issues[0]
        name = str(issue.loc[1])
        if issue.keyword == "format":
            return HttpRequestValidationError(name, f"{name} must be a UUID; got {issue.value!r}.")
        return HttpRequestValidationError(name, f"{name} is required.")

    values = check_parameters(DOCUMENT, operation_id, request, error, locations=("path",))
    if "encounter_id" in values:
        values["encounter_id"] = values["encounter_id"].lower()
    return values


def _attachments(request: Request, attachments: list[models.Attachment], *, for_encounter: bool) -> Response:
    sandbox = sandbox_of(request)
    base_url = sandbox.base_url(request)
    ttl = sandbox.lifetime(request, models.AUTHED_URL_TTL_SECONDS)
    chunks = models.attachments_json(
        sandbox.storage, attachments, base_url=base_url, url_ttl=ttl, for_encounter=for_encounter
    )
    return Response(array(chunks), media_type="application/json")


async def get_token(request: Request) -> Response:
    sandbox = sandbox_of(request)
    check_rate_limit(sandbox, request)
    body = await read_token_body(request, DOCUMENT, "getToken")
    client = client_for(sandbox, body["client_id"], body["client_secret"])
    lifetime = sandbox.lifetime(request, models.TOKEN_TTL_SECONDS)
    issuer = f"{sandbox.base_url(request)}/candid/"
    token = issue_token(sandbox, client, issuer=issuer, lifetime=lifetime)
    return JSONResponse({"access_token": token, "expires_in": int(lifetime), "token_type": "Bearer"})


async def get_encounter_attachments(request: Request) -> Response:
    sandbox = sandbox_of(request)
    principal = authenticate(sandbox, request)
    encounter_id = _path(request, "getEncounterAttachments")["encounter_id"]
    return _attachments(
        request, models.encounter_attachments(sandbox, principal, encounter_id), for_encounter=True
    )


async def _create_on_encounter(request: Request, operation_id: str, *, with_description: bool) -> Response:
    sandbox = sandbox_of(request)
    principal = authenticate(sandbox, request)
    encounter_id = _path(request, operation_id)["encounter_id"]
    models.find_encounter(sandbox, principal, encounter_id)
    upload, _ = await receive_upload(request, DOCUMENT, operation_id, with_description=with_description)
    attachment = models.create_attachment(sandbox, principal, upload, encounter_id=encounter_id)
    return JSONResponse(attachment.attachment_id)


async def create_encounter_attachment(request: Request) -> Response:
    return await _create_on_encounter(request, "createEncounterAttachment", with_description=False)


async def create_encounter_attachment_v2(request: Request) -> Response:
    return await _create_on_encounter(request, "createEncounterAttachmentV2", with_description=True)


async def create_attachment_from_charge_capture(request: Request) -> Response:
    sandbox = sandbox_of(request)
    principal = authenticate(sandbox, request)
    upload, fields = await receive_upload(
        request, DOCUMENT, "createAttachmentFromChargeCaptureExternalId", with_description=True
    )
    attachment = models.create_attachment(
        sandbox, principal, upload, charge_capture_external_id=fields["charge_capture_external_id"]
    )
    return JSONResponse(attachment.attachment_id)


async def get_charge_capture_attachments(request: Request) -> Response:
    sandbox = sandbox_of(request)
    principal = authenticate(sandbox, request)
    attachments = models.charge_capture_attachments(
        sandbox, principal, _path(request, "getChargeCaptureAttachments")["charge_capture_external_id"]
    )
    return _attachments(request, attachments, for_encounter=False)


async def delete_charge_capture_attachment(request: Request) -> Response:
    sandbox = sandbox_of(request)
    principal = authenticate(sandbox, request)
    external_id = _path(request, "deleteChargeCaptureAttachment")["charge_capture_external_id"]
    body = await read_json_body(request, DOCUMENT, "deleteChargeCaptureAttachment")
    attachment_id = body["attachment_id"].lower()
    models.delete_attachment(sandbox, principal, attachment_id, charge_capture_external_id=external_id)
    return Response(status_code=200)


async def delete_encounter_attachment(request: Request) -> Response:
    sandbox = sandbox_of(request)
    principal = authenticate(sandbox, request)
    encounter_id = _path(request, "deleteEncounterAttachment")["encounter_id"]
    body = await read_json_body(request, DOCUMENT, "deleteEncounterAttachment")
    models.delete_attachment(sandbox, principal, body["attachment_id"].lower(), encounter_id=encounter_id)
    return Response(status_code=200)


async def convert_charge_capture(request: Request) -> Response:
    """Sandbox-only: the charge capture becomes an encounter (Candid does this when it creates one)."""
    sandbox = sandbox_of(request)
    principal = authenticate(sandbox, request, rate_limited=False)
    external_id = _path(request, "convertChargeCapture")["charge_capture_external_id"]
    body = await read_json_body(request, DOCUMENT, "convertChargeCapture", optional=True)
    requested = body.get("encounter_id", "").lower() or None
    capture, attachments = models.convert_charge_capture(sandbox, principal, external_id, requested)
    return JSONResponse(
        {
            "charge_capture_external_id": capture.external_id,
            "encounter_id": capture.encounter_id,
            "attachment_ids": [a.attachment_id for a in attachments],
        }
    )


async def openapi(request: Request) -> Response:
    return Response(DOCUMENT.json_bytes, media_type="application/json")


ENCOUNTER = f"{V1}/{{encounter_id}}"
CHARGE_CAPTURE = f"{V1}/by-charge-capture-external-id/{{charge_capture_external_id:path}}"
CONVERT = "/__sandbox/charge-captures/{charge_capture_external_id:path}/convert"

# fmt: off
# Specific paths first: "{encounter_id}" would also match "create-from-charge-capture-external-id".
routes = [
    Route("/api/auth/v2/token", get_token, methods=["POST"], name="candid:getToken"),
    Route(f"{V1}/create-from-charge-capture-external-id", create_attachment_from_charge_capture,
          methods=["POST"], name="candid:createAttachmentFromChargeCaptureExternalId"),
    Route(CHARGE_CAPTURE, get_charge_capture_attachments, methods=["GET"],
          name="candid:getChargeCaptureAttachments"),
    Route(CHARGE_CAPTURE, delete_charge_capture_attachment, methods=["DELETE"],
          name="candid:deleteChargeCaptureAttachment"),
    Route(f"{ENCOUNTER}/v2", create_encounter_attachment_v2, methods=["PUT"],
          name="candid:createEncounterAttachmentV2"),
    Route(ENCOUNTER, get_encounter_attachments, methods=["GET"], name="candid:getEncounterAttachments"),
    Route(ENCOUNTER, create_encounter_attachment, methods=["PUT"], name="candid:createEncounterAttachment"),
    Route(ENCOUNTER, delete_encounter_attachment, methods=["DELETE"],
          name="candid:deleteEncounterAttachment"),
    Route(CONVERT, convert_charge_capture, methods=["POST"], name="candid:convertChargeCapture"),
    Route("/openapi.json", openapi, methods=["GET"], name="candid:openapi"),
]
# fmt: on
