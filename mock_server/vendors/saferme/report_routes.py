"""SaferMe's Reports API routes (mounted at ``/saferme``): create, fetch and update a report
(reports.md), and fetch the form whose field keys a report is filled with (forms.md).

Handlers: parse -> auth -> validate -> reports/forms -> render. Rendering a report may make the
styles of its attachments (Pillow), so it runs on a worker thread.
"""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from mock_server.core.jsontext import JSONResponse
from mock_server.core.requests import sandbox_of
from mock_server.vendors.saferme import reports
from mock_server.vendors.saferme.auth import authenticate
from mock_server.vendors.saferme.errors import NotFound
from mock_server.vendors.saferme.forms import field_json, find_form
from mock_server.vendors.saferme.models import URL_TTL_SECONDS
from mock_server.vendors.saferme.routes import _validated
from mock_server.vendors.saferme.sessions import iso_millis


async def _render(request: Request, report: reports.Report, status_code: int) -> Response:
    sandbox = sandbox_of(request)
    body = await run_in_threadpool(
        reports.report_json,
        sandbox,
        report,
        reports.selected_fields(request.query_params.get("fields")),
        base_url=sandbox.base_url(request),
        lifetime=sandbox.lifetime(request, URL_TTL_SECONDS),
    )
    return JSONResponse(body, status_code=status_code)


async def create_report(request: Request) -> Response:
    sandbox = sandbox_of(request)
    principal = authenticate(sandbox, request)
    body = await _validated(request, "createReport")
    report = reports.create_report(sandbox, principal.team_id, principal.user_id, body["report"])
    return await _render(request, report, 201)


async def get_report(request: Request) -> Response:
    sandbox = sandbox_of(request)
    principal = authenticate(sandbox, request)
    report = reports.find_report(sandbox, principal.team_id, request.path_params["id"])
    return await _render(request, report, 200)


async def update_report(request: Request) -> Response:
    sandbox = sandbox_of(request)
    principal = authenticate(sandbox, request)
    reports.find_report(sandbox, principal.team_id, request.path_params["id"])  # 404 before 422
    body = await _validated(request, "updateReport")
    reports.update_report(sandbox, principal.team_id, request.path_params["id"], body["report"])
    return Response(status_code=204)


async def get_form(request: Request) -> Response:
    sandbox = sandbox_of(request)
    principal = authenticate(sandbox, request)
    reference = request.path_params["id"]
    form = find_form(sandbox, principal.team_id, reference)
    if form is None:
        raise NotFound(f"Couldn't find Form with 'id'={reference}")
    body = {
        "id": form.id,
        "uuid": form.uuid,
        "name": form.name,
        "updated_at": iso_millis(form.updated_at),
        "team_id": form.team_id,
        "version": form.version,
        "fields": [field_json(item, None, data_as_text=True) for item in form.fields],
    }
    return JSONResponse(body)


routes = [
    Route("/api/v4/reports", create_report, methods=["POST"], name="saferme:createReport"),
    Route("/api/v4/reports/{id}", get_report, methods=["GET"], name="saferme:getReport"),
    Route("/api/v4/reports/{id}", update_report, methods=["PATCH"], name="saferme:updateReport"),
    Route("/api/v4/forms/{id}", get_form, methods=["GET"], name="saferme:getForm"),
]
