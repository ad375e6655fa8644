"""Decoda's error bodies, which are FastAPI's own.

- ``HTTPException`` refusals: ``{"detail": "<message>"}`` with the status (``application/json``).
- Request validation: 422 ``{"detail": [{"type", "loc", "msg", "input"(, "ctx")}, ...]}`` (pydantic v2 items,
  one per problem, in FastAPI's order).
- An unhandled exception: Starlette's ``ServerErrorMiddleware`` answer, 500 ``text/plain``
  ``Internal Server Error``; injected 500s look the same.

Decoda documents no error codes, so the classes are named after the HTTP condition (FastAPI raises
``HTTPException(status_code=...)``), plus the lookups a client can hit: patient, note, attachment, API key.
"""

from __future__ import annotations

from collections.abc import Sequence
from http import HTTPStatus
from typing import Any

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from mock_server.core.errors import SandboxError
from mock_server.core.jsontext import JSONResponse

# The boundary reports unknown paths as "No route for <METHOD> <path>"; FastAPI says "Not Found".
_ROUTE_MISS_PREFIX = "No route for "


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


class DecodaError(SandboxError):
    """An ``HTTPException``: rendered as ``{"detail": message}``."""

    status = 500
    code = "http-error"
    default_message = "Internal Server Error"


class BadRequest(DecodaError):
    status = 400
    default_message = "Bad Request"


class Unauthorized(DecodaError):
    status = 401
    default_message = "Unauthorized"


class InvalidApiKey(Unauthorized):
    """The API-KEY is not the active key of the TENANT (or the tenant is unknown: same answer)."""

    code = "invalid-api-key"
    default_message = "Invalid API key"


class Forbidden(DecodaError):
    status = 403
    default_message = "Forbidden"


class NotFound(DecodaError):
    status = 404
    default_message = "Not Found"


class PatientNotFound(NotFound):
    code = "patient-not-found"
    default_message = "Patient not found"


class NoteNotFound(NotFound):
    code = "note-not-found"
    default_message = "Note not found"


class AttachmentNotFound(NotFound):
    code = "attachment-not-found"
    default_message = "Attachment not found"


class MethodNotAllowed(DecodaError):
    status = 405
    default_message = "Method Not Allowed"


class Conflict(DecodaError):
    status = 409
    default_message = "Conflict"


class PayloadTooLarge(DecodaError):
    status = 413
    code = "payload-too-large"
    default_message = "Request Entity Too Large"


class UnprocessableEntity(DecodaError):
    """A 422 raised by the endpoint itself (string ``detail``), e.g. more names than files."""

    status = 422
    default_message = "Unprocessable Entity"


class TooManyRequests(DecodaError):
    status = 429
    default_message = "Too Many Requests"


class InternalServerError(DecodaError):
    """Rendered as Starlette's plain-text 500, whatever the message."""

    status = 500


class BadGateway(DecodaError):
    status = 502
    default_message = "Bad Gateway"


class ServiceUnavailable(DecodaError):
    status = 503
    default_message = "Service Unavailable"


class GatewayTimeout(DecodaError):
    status = 504
    default_message = "Gateway Timeout"


class RequestValidationError(DecodaError):
    """FastAPI's 422: ``items`` are pydantic v2 error dicts with ``loc`` as a list."""

    status = 422
    code = "validation-error"
    default_message = "Request validation failed"

    def __init__(self, items: Sequence[dict[str, Any]]) -> None:
        self.items = [dict(item) for item in items]
        super().__init__()


ERRORS_BY_STATUS: dict[int, type[DecodaError]] = {
    cls.status: cls
    for cls in (
        BadRequest,
        Unauthorized,
        Forbidden,
        NotFound,
        MethodNotAllowed,
        Conflict,
        PayloadTooLarge,
        UnprocessableEntity,
        TooManyRequests,
        InternalServerError,
        BadGateway,
        ServiceUnavailable,
        GatewayTimeout,
    )
}


def error_for_status(status: int, message: str | None) -> DecodaError:
    """The Decoda error for any status (injected faults, Starlette's 404/405, the 500 fallback).

    A 422 is FastAPI's validation list (the only 422 body Decoda documents), with one ``value_error``
    item at ``["body"]`` carrying the message.
    """
    if status == 422:
        return RequestValidationError(
            [{"type": "value_error", "loc": ["body"], "msg": message or _phrase(422), "input": None}]
        )
    error_class = ERRORS_BY_STATUS.get(status, DecodaError)
    if message is None or message.startswith(_ROUTE_MISS_PREFIX):
        message = _phrase(status)
    error = error_class(message)
    error.status = status
    return error


def render(request: Request, exc: SandboxError) -> Response:
    """FastAPI's body for ``exc``: validation list, ``{"detail": ...}``, or the plain-text 500."""
    if isinstance(exc, RequestValidationError):
        return JSONResponse({"detail": exc.items}, status_code=422, headers=exc.headers)
    if exc.status == 500:
        return PlainTextResponse("Internal Server Error", status_code=500, headers=exc.headers)
    return JSONResponse({"detail": exc.message}, status_code=exc.status, headers=exc.headers)
