"""Reading Candid request bodies: streamed multipart uploads, small JSON/form bodies, and
turning openapi.yaml validation issues into Candid's ``HttpRequestValidationError(s)``.

Uploads are parsed while streaming (core.multipart): the file part's MIME type and field name are
checked from its headers before any of its bytes are read, and its size cap is enforced chunk by
chunk, so an oversized or refused upload is never held in memory or stored.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl

from starlette.requests import Request

from mock_server.core.bodies import declared_length
from mock_server.core.errors import BodyTooLarge, MalformedBody
from mock_server.core.multipart import Limits, MultipartForm, parse_multipart
from mock_server.core.openapi import OpenApiDocument, ValidationIssue
from mock_server.core.requests import parse_json, read_body
from mock_server.vendors.candid import models
from mock_server.vendors.candid.errors import (
    BadRequestError,
    HttpRequestValidationError,
    InvalidContentTypeError,
    UnprocessableEntityError,
    validation_error,
)
from mock_server.vendors.candid.limits import LIMITS

FILE_FIELD = "attachment_file"
FORM_OVERHEAD_BYTES = 1024 * 1024  # text fields and part headers around the file
MAX_JSON_BYTES = LIMITS.max_json_bytes


def media_type(content_type: str | None) -> str:
    return (content_type or "").split(";", 1)[0].strip().lower()


def _too_large() -> UnprocessableEntityError:
    cap = models.MAX_ATTACHMENT_BYTES
    return UnprocessableEntityError(
        f"attachment_file is larger than the maximum file size of 25MB ({cap} bytes)."
    )


def problems_of(
    document: OpenApiDocument, operation_id: str, media: str, body: Any
) -> list[HttpRequestValidationError]:
    """Validation issues for ``body`` as Candid field errors (missing fields named one by one)."""
    issues = document.validate_request(operation_id, body, media)
    validator = document.request_validator(operation_id, media)
    schema = document.resolve(validator.schema) if validator is not None else {}
    required = list(schema.get("required", []))
    problems: dict[str, HttpRequestValidationError] = {}
    for issue in issues:
        for problem in _problems_of_issue(issue, required, body):
            problems.setdefault(problem.field_name, problem)  # one per field, as Candid reports them
    return list(problems.values())


def _problems_of_issue(
    issue: ValidationIssue, required: list[str], body: Any
) -> list[HttpRequestValidationError]:
    missing = [name for name in required if isinstance(body, dict) and name not in body]
    if issue.keyword == "required" and not issue.loc and missing:
        return [HttpRequestValidationError(name, f"{name} is required.") for name in missing]
    if not issue.loc:
        return [HttpRequestValidationError("body", f"The request body is invalid: {issue.message}")]
    name = str(issue.loc[0])
    if issue.keyword == "enum":
        return [
            HttpRequestValidationError(
                name, f"{name} must be one of {', '.join(issue.rule)}; got {issue.value!r}."
            )
        ]
    if issue.keyword == "format":
        return [HttpRequestValidationError(name, f"{name} must be a UUID; got {issue.value!r}.")]
    return [HttpRequestValidationError(name, f"{name}: {issue.message}")]


def _check_file_part(form: MultipartForm, name: str, _file_name: str, content_type: str | None) -> int | None:
    """Runs on the file part's headers, before its bytes: right field, allowed MIME type."""
    if name != FILE_FIELD:
        raise HttpRequestValidationError(
            FILE_FIELD, f"The file must be sent in the '{FILE_FIELD}' field, not {name!r}."
        )
    media = media_type(content_type)
    if media not in models.ALLOWED_CONTENT_TYPES:
        allowed = ", ".join(sorted(models.ALLOWED_CONTENT_TYPES))
        raise UnprocessableEntityError(
            f"attachment_file has content type {media or 'none'!r}, which is not allowed. "
            f"Allowed types: {allowed}."
        )
    return models.MAX_ATTACHMENT_BYTES


async def receive_upload(
    request: Request, document: OpenApiDocument, operation_id: str, *, with_description: bool
) -> tuple[models.NewAttachment, dict[str, str]]:
    """Stream and check one Candid upload; the returned body is the caller's to store or close.

    Raises: InvalidContentTypeError (not multipart), BadRequestError (broken multipart),
    UnprocessableEntityError (over 25 MB, MIME type not allowed), HttpRequestValidationError(s)
    (missing or invalid fields, ``attachment_type`` not one of the 13 values).
    """
    content_type = request.headers.get("content-type")
    if media_type(content_type) != "multipart/form-data":
        raise InvalidContentTypeError(
            f"Expected multipart/form-data, got {media_type(content_type) or 'none'!r}."
        )
    total_cap = models.MAX_ATTACHMENT_BYTES + FORM_OVERHEAD_BYTES
    limits = Limits(
        max_file_bytes=models.MAX_ATTACHMENT_BYTES,
        max_total_bytes=total_cap,
        max_parts=32,
        max_field_bytes=MAX_JSON_BYTES,
        max_files=1,
    )
    try:
        declared = declared_length(request.headers.get("content-length"))
        if declared is not None and declared > total_cap:
            raise _too_large()
        form = await parse_multipart(request.stream(), content_type, limits, _check_file_part)
    except BodyTooLarge as exc:
        raise _too_large() from exc
    except MalformedBody as exc:
        raise BadRequestError(f"Malformed multipart/form-data body: {exc.message}") from exc
    try:
        return _validated(form, document, operation_id, with_description)
    except BaseException:
        form.close()
        raise


def _validated(
    form: MultipartForm, document: OpenApiDocument, operation_id: str, with_description: bool
) -> tuple[models.NewAttachment, dict[str, str]]:
    fields: dict[str, str] = {}
    for name, value in form.fields:
        fields.setdefault(name, value)
    instance: dict[str, str] = dict(fields)
    if form.files:
        instance[FILE_FIELD] = form.files[0].filename or "upload"
    problems = problems_of(document, operation_id, "multipart/form-data", instance)
    if problems:
        raise validation_error(problems)
    part = form.files[0]
    upload = models.NewAttachment(
        attachment_type=fields["attachment_type"],
        file_name=models.sanitize_file_name(part.filename),
        content_type=media_type(part.content_type),
        body=part.body,
        description=fields.get("description", "") if with_description else "",
    )
    return upload, fields


def _json_too_large(limit: int) -> UnprocessableEntityError:
    return UnprocessableEntityError(f"The request body is larger than {limit} bytes.")


def _not_json(exc: Exception) -> HttpRequestValidationError:
    return HttpRequestValidationError("body", "The request body is not valid JSON.")


async def read_json_body(
    request: Request, document: OpenApiDocument, operation_id: str, *, optional: bool = False
) -> dict[str, Any]:
    """A small JSON object body, validated against the operation's schema.

    Raises: UnprocessableEntityError (over 64 KiB), HttpRequestValidationError(s) (not JSON,
    not an object, schema violations).
    """
    raw = await read_body(request, MAX_JSON_BYTES, _json_too_large)
    if optional and not raw.strip():
        return {}
    body = parse_json(
        raw, lambda exc: HttpRequestValidationError("body", "The request body is not valid JSON.")
    )
    problems = problems_of(document, operation_id, "application/json", body)
    if problems:
        raise validation_error(problems)
    return body


async def read_token_body(request: Request, document: OpenApiDocument, operation_id: str) -> dict[str, Any]:
    """``client_id``/``client_secret`` as JSON or ``application/x-www-form-urlencoded``.

    Raises: InvalidContentTypeError for any other Content-Type; as ``read_json_body`` otherwise.
    """
    media = media_type(request.headers.get("content-type"))
    if media == "application/json":
        return await read_json_body(request, document, operation_id)
    if media != "application/x-www-form-urlencoded":
        raise InvalidContentTypeError(
            "Content-Type must be application/json or application/x-www-form-urlencoded, "
            f"got {media or 'none'!r}."
        )
    raw = await read_body(request, MAX_JSON_BYTES, _json_too_large)
    try:
        body = dict(parse_qsl(raw.decode("utf-8"), keep_blank_values=True))
    except UnicodeDecodeError as exc:
        raise HttpRequestValidationError("body", "The form body is not valid UTF-8.") from exc
    problems = problems_of(document, operation_id, media, body)
    if problems:
        raise validation_error(problems)
    return body
