"""QUBS routes (relative to the vendor's base URL, ``/qubs``), each a thin handler:
parse -> auth -> validate -> models -> render.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from mock_server.core.requests import read_body, sandbox_of
from mock_server.core.sandbox import Sandbox
from mock_server.vendors.qubs import attachments, auth, models, paging
from mock_server.vendors.qubs.auth import Principal
from mock_server.vendors.qubs.errors import InvalidRequest
from mock_server.vendors.qubs.limits import LIMITS
from mock_server.vendors.qubs.parsing import (
    DOCUMENT,
    check_body,
    json_body,
    json_reply,
    parameters,
    run_idempotent,
)

JSON_LIMIT = LIMITS.max_json_bytes
REPORT_LIMIT = 16 * 1024 * 1024  # reportText may be 2 MiB of UTF-8, escaped up to 6 bytes per character
FORM_LIMIT = 16 * 1024
TOKEN_HEADERS = {"Cache-Control": "no-store", "Pragma": "no-cache"}
REPORTING = "/integrations/v1/{domain}/reporting/appointments"
APPOINTMENTS = "/integrations/v1/{domain}/appointments"


def _target(request: Request) -> tuple[Sandbox, str, str]:
    return sandbox_of(request), request.path_params["domain"], request.path_params["appointmentId"]


def _principal(request: Request) -> Principal:
    sandbox = sandbox_of(request)
    return auth.authenticate(sandbox, request.headers.get("authorization"), request.path_params["domain"])


async def create_token(request: Request) -> Response:
    sandbox = sandbox_of(request)
    raw = await read_body(
        request, FORM_LIMIT, lambda limit: InvalidRequest(f"The request body exceeds {limit} bytes.")
    )
    client_id, client_secret = auth.parse_token_form(
        request.headers.get("content-type", ""), raw, request.headers.get("authorization")
    )
    body = auth.issue_token(sandbox, client_id, client_secret, sandbox.lifetime(request, auth.TOKEN_LIFETIME))
    response = json_reply(body)
    response.headers.update(TOKEN_HEADERS)
    return response


async def list_pending_appointments(request: Request) -> Response:
    _principal(request)
    query = parameters(request, "listPendingAppointments")
    page = models.list_pending(
        sandbox_of(request), request.path_params["domain"], query["pageSize"], query.get("nextToken")
    )
    return json_reply(page)


async def get_pending_appointment(request: Request) -> Response:
    _principal(request)
    record = models.pending_appointment(
        sandbox_of(request), request.path_params["domain"], request.path_params["appointmentId"]
    )
    return json_reply(models.appointment_view(record))


async def list_reporting_attachments(request: Request) -> Response:
    _principal(request)
    sandbox, params = sandbox_of(request), request.path_params
    query = parameters(request, "listReportingAttachments")
    records = attachments.for_appointment(sandbox, params["domain"], params["appointmentId"], pending=True)
    page, token = paging.cursor_page(records, lambda r: r.guid, query["pageSize"], query.get("nextToken"))
    return json_reply(paging.page_body([attachments.reporting_view(sandbox, r) for r in page], token))


@dataclass(frozen=True)
class Call:
    """One authenticated, validated call of an idempotent reporting operation."""

    sandbox: Sandbox
    principal: Principal
    domain: str
    appointment_id: str
    body: Any


async def _idempotent(
    request: Request, operation: str, limit: int, make: Callable[[Call], Response]
) -> Response:
    """The shape the three reporting POSTs share: auth, Idempotency-Key, JSON body checked against the
    operation's schema, then ``make`` run once per key (for the operation's idempotency lifetime)."""
    sandbox, domain, appointment_id = _target(request)
    principal = _principal(request)
    key = parameters(request, operation).get("Idempotency-Key")
    body = await json_body(request, limit)
    check_body(operation, body)
    call = Call(sandbox, principal, domain, appointment_id, body)
    payload = {"appointmentId": appointment_id, "body": body}
    ttl = LIMITS.idempotency_seconds[operation]
    return run_idempotent(request, operation, principal, domain, key, payload, ttl, lambda: make(call))


async def create_report_attachments(request: Request) -> Response:
    def make(call: Call) -> Response:
        sandbox = call.sandbox
        lifetime = sandbox.lifetime(request, attachments.UPLOAD_URL_TTL)
        user, items, base_url = call.principal.user_summary(), call.body["items"], sandbox.base_url(request)
        created = attachments.create_upload_urls(
            sandbox, user, call.domain, call.appointment_id, items, base_url, lifetime
        )
        return json_reply(created, 201)

    return await _idempotent(request, "createReportAttachments", JSON_LIMIT, make)


async def submit_report(request: Request) -> Response:
    def make(call: Call) -> Response:
        user = call.principal.user_summary()
        return json_reply(
            models.submit_report(call.sandbox, user, call.domain, call.appointment_id, call.body)
        )

    return await _idempotent(request, "submitReport", REPORT_LIMIT, make)


async def create_comment(request: Request) -> Response:
    def make(call: Call) -> Response:
        user = call.principal.user_summary()
        comment = models.create_comment(call.sandbox, user, call.domain, call.appointment_id, call.body)
        return json_reply(comment, 201)

    return await _idempotent(request, "createComment", JSON_LIMIT, make)


def _read_options(request: Request, operation: str) -> tuple[float, str]:
    query = parameters(request, operation)
    ttl = attachments.url_ttl(query["urlTtlSeconds"])
    return sandbox_of(request).lifetime(request, ttl), query.get("disposition", "inline")


async def list_appointment_attachments(request: Request) -> Response:
    _principal(request)
    sandbox, params = sandbox_of(request), request.path_params
    lifetime, disposition = _read_options(request, "listAppointmentAttachments")
    query = parameters(request, "listAppointmentAttachments")
    records = attachments.for_appointment(sandbox, params["domain"], params["appointmentId"], pending=False)
    page, base_url = paging.offset_page(records, query["skip"], query["take"]), sandbox.base_url(request)
    return json_reply([attachments.read_view(sandbox, r, base_url, lifetime, disposition) for r in page])


async def get_appointment_attachment(request: Request) -> Response:
    _principal(request)
    sandbox, params = sandbox_of(request), request.path_params
    lifetime, disposition = _read_options(request, "getAppointmentAttachment")
    record = attachments.get(sandbox, params["domain"], params["appointmentId"], params["attachmentGuid"])
    return json_reply(
        attachments.read_view(sandbox, record, sandbox.base_url(request), lifetime, disposition)
    )


async def openapi(request: Request) -> Response:
    return Response(DOCUMENT.json_bytes, media_type="application/json")


routes = [
    Route("/oauth2/token", create_token, methods=["POST"], name="qubs:createToken"),
    Route(
        f"{REPORTING}/pending",
        list_pending_appointments,
        methods=["GET"],
        name="qubs:listPendingAppointments",
    ),
    Route(
        REPORTING + "/{appointmentId}",
        get_pending_appointment,
        methods=["GET"],
        name="qubs:getPendingAppointment",
    ),
    Route(
        REPORTING + "/{appointmentId}/attachments",
        list_reporting_attachments,
        methods=["GET"],
        name="qubs:listReportingAttachments",
    ),
    Route(
        REPORTING + "/{appointmentId}/report/attachments",
        create_report_attachments,
        methods=["POST"],
        name="qubs:createReportAttachments",
    ),
    Route(REPORTING + "/{appointmentId}/report", submit_report, methods=["POST"], name="qubs:submitReport"),
    Route(
        REPORTING + "/{appointmentId}/comments", create_comment, methods=["POST"], name="qubs:createComment"
    ),
    Route(
        APPOINTMENTS + "/{appointmentId}/attachments",
        list_appointment_attachments,
        methods=["GET"],
        name="qubs:listAppointmentAttachments",
    ),
    Route(
        APPOINTMENTS + "/{appointmentId}/attachments/{attachmentGuid}",
        get_appointment_attachment,
        methods=["GET"],
        name="qubs:getAppointmentAttachment",
    ),
    Route("/openapi.json", openapi, methods=["GET"], name="qubs:openapi"),
]
