"""SaferMe routes (mounted at ``/saferme``): Sessions v3 login, Report API v4 file attachments
(upload authorization, create, get) and the OpenAPI document.

Route names are ``saferme:<operationId>`` (openapi.yaml). Handlers: parse -> auth -> validate ->
models -> render; every refusal is raised as a SaferMe error and rendered by errors.render. The
browser upload itself goes to the embedded S3 (``POST /s3/staging-thundermaps-uploads``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from mock_server.core.jsontext import JSONResponse
from mock_server.core.openapi import ValidationIssue, validate_parameters
from mock_server.core.requests import read_json, sandbox_of
from mock_server.vendors.saferme import models
from mock_server.vendors.saferme.auth import authenticate, check_app_id, login
from mock_server.vendors.saferme.errors import BadRequest, PayloadTooLarge, Problem, UnprocessableEntity
from mock_server.vendors.saferme.limits import LIMITS
from mock_server.vendors.saferme.params import is_form, read_form
from mock_server.vendors.saferme.spec import DOCUMENT
from mock_server.vendors.saferme.styles import process_if_due

MAX_JSON_BYTES = LIMITS.max_json_bytes
_REQUIRED = re.compile(r"'(.+)' is a required property")


async def _json(request: Request) -> Any:
    """The request body as JSON. Raises: PayloadTooLarge (over 64 KiB), BadRequest (not JSON)."""
    return await read_json(
        request,
        MAX_JSON_BYTES,
        lambda limit: PayloadTooLarge(f"The request body exceeds {limit} bytes."),
        lambda exc: BadRequest(),
    )


def _root(operation_id: str) -> str:
    """The Rails parameter key wrapping an operation's JSON body (``file_attachment``, ``report``,
    ``session``): the first required member of its request schema."""
    _, _, operation = DOCUMENT.operations[operation_id]
    content = operation.get("requestBody", {}).get("content", {})
    schema = DOCUMENT.resolve(content.get("application/json", {}).get("schema", {}))
    return next(iter(schema.get("required", [])), "base")


def _problems(issues: Iterable[ValidationIssue], root: str) -> list[Problem]:
    """OpenAPI issues as Rails-style attribute errors (``blank`` for missing/empty, else ``invalid``);
    an issue with the body as a whole (not an object) is charged to ``root``."""
    problems: list[Problem] = []
    for issue in issues:
        named = [part for part in issue.loc if isinstance(part, str)]
        attribute = named[-1] if named else root
        if issue.keyword == "required" and (match := _REQUIRED.match(issue.message)):
            problems.append(Problem(match.group(1), "can't be blank", "blank"))
        elif issue.keyword == "minLength":
            problems.append(Problem(attribute, "can't be blank", "blank"))
        else:
            problems.append(Problem(attribute, "is invalid", "invalid"))
    return problems


def _query(request: Request, operation_id: str) -> dict[str, Any]:
    """The operation's query parameters, checked against openapi.yaml by core.openapi (headers are
    credentials: auth checks them first, with its own 401/403). MIME types compare case-insensitively
    (module docstring), so ``content_type`` is trimmed and lower-cased before its enum is checked.

    Raises: UnprocessableEntity (``blank`` when missing or empty, ``inclusion`` outside an enum).
    """
    raw = request.query_params
    query = {name: raw[name] for name in raw}
    if "content_type" in query:
        query["content_type"] = query["content_type"].strip().lower()
    values, issues = validate_parameters(DOCUMENT, operation_id, {"query": query})
    problems = []
    for issue in issues:
        name = str(issue.loc[1])
        if issue.keyword == "required":
            problems.append(Problem(name, "can't be blank", "blank"))
        elif issue.keyword == "enum":
            problems.append(Problem(name, "is not included in the list", "inclusion", {"value": raw[name]}))
        else:
            problems.append(Problem(name, "is invalid", "invalid"))
    if problems:
        raise UnprocessableEntity(problems)
    return values


async def _validated(request: Request, operation_id: str) -> Any:
    body = await (read_form(request, MAX_JSON_BYTES) if is_form(request) else _json(request))
    problems = _problems(DOCUMENT.validate_request(operation_id, body), _root(operation_id))
    if problems:
        raise UnprocessableEntity(problems)
    return body


async def _attachment(request: Request, attachment: models.FileAttachment) -> Response:
    """202 while processing, 200 once processed (styles are made on a worker thread)."""
    sandbox = sandbox_of(request)
    attachment = await run_in_threadpool(process_if_due, sandbox, attachment)
    body = models.attachment_json(
        sandbox,
        attachment,
        base_url=sandbox.base_url(request),
        lifetime=sandbox.lifetime(request, models.URL_TTL_SECONDS),
    )
    return JSONResponse(body, status_code=200 if attachment.processed else 202)


async def create_session(request: Request) -> Response:
    sandbox = sandbox_of(request)
    check_app_id(sandbox, request)
    body = await _json(request)
    user = body.get("user") if isinstance(body, dict) else None
    user = user if isinstance(user, dict) else {}
    email, password = user.get("email"), user.get("password")
    lifetime = sandbox.lifetime(request, models.settings_of(sandbox).session_ttl_seconds)
    credential, account = login(
        sandbox,
        email if isinstance(email, str) else "",
        password if isinstance(password, str) else "",
        lifetime=lifetime,
    )
    return JSONResponse(
        {
            "auth_token": credential.token,
            "consent_required": False,
            "team_id": None,
            "user_id": account.id,
            "personal_account_option": False,
            "profile_details_pending": False,
            "password_update_pending": False,
        }
    )


async def get_upload_authorization(request: Request) -> Response:
    sandbox = sandbox_of(request)
    principal = authenticate(sandbox, request)
    content_type = _query(request, "getUploadAuthorization")["content_type"]
    lifetime = sandbox.lifetime(request, models.UPLOAD_AUTHORIZATION_TTL_SECONDS)
    body = models.authorize_upload(
        sandbox, principal.team_id, content_type, base_url=sandbox.base_url(request), lifetime=lifetime
    )
    return JSONResponse(body)


async def create_file_attachment(request: Request) -> Response:
    sandbox = sandbox_of(request)
    principal = authenticate(sandbox, request)
    body = await _validated(request, "createFileAttachment")
    attachment = models.create_file_attachment(sandbox, principal.team_id, body["file_attachment"]["key"])
    return await _attachment(request, attachment)


async def get_file_attachment(request: Request) -> Response:
    sandbox = sandbox_of(request)
    principal = authenticate(sandbox, request)
    attachment = models.find_file_attachment(sandbox, principal.team_id, request.path_params["id"])
    return await _attachment(request, attachment)


async def openapi(request: Request) -> Response:
    return Response(DOCUMENT.json_bytes, media_type="application/json")


routes = [
    Route("/api/v3/sessions", create_session, methods=["POST"], name="saferme:createSession"),
    Route(
        "/api/v4/file_attachments/upload_authorization",
        get_upload_authorization,
        methods=["GET"],
        name="saferme:getUploadAuthorization",
    ),
    Route(
        "/api/v4/file_attachments",
        create_file_attachment,
        methods=["POST"],
        name="saferme:createFileAttachment",
    ),
    Route(
        "/api/v4/file_attachments/{id}",
        get_file_attachment,
        methods=["GET"],
        name="saferme:getFileAttachment",
    ),
    Route("/openapi.json", openapi, methods=["GET"], name="saferme:openapi"),
]
