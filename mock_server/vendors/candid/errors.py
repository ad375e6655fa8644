"""Candid's error vocabulary and its (Fern) error body ``{"errorName": ..., "content": ...}``.

One class per ``errorName`` the ``candidhealth`` SDK knows (``candid/resources/commons/errors``
and the auth errors), each with the status and ``content`` shape the SDK parses. A missing or
expired token is 401 ``UnauthorizedError``: Candid's reference documents "HTTP 401 Unauthorized" for it
(no body) and ``UnauthorizedError`` is the SDK's name for an authorization failure (its typed class is
the 403 of another organization's data, which keeps the same name here).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from mock_server.core.errors import SandboxError
from mock_server.core.jsontext import JSONResponse


class CandidError(SandboxError):
    """Base: ``code`` is the ``errorName``; ``content()`` is the body's ``content``."""

    status = 500
    code = "InternalError"
    default_message = "An unexpected error occurred."

    def content(self, request: Request) -> Any:
        return {"message": self.message}


class BadRequestError(CandidError):
    status = 400
    code = "BadRequestError"
    default_message = "The request could not be understood."


class TokenUnauthorizedError(CandidError):
    """401: missing, malformed, unknown or expired bearer token, or wrong client credentials."""

    status = 401
    code = "UnauthorizedError"
    default_message = "Unauthorized: a valid bearer token is required."

    def __init__(self, message: str | None = None, **kwargs: Any) -> None:
        headers = {
            "WWW-Authenticate": 'Bearer realm="candid", error="invalid_token"',
            **kwargs.pop("headers", {}),
        }
        super().__init__(message, headers=headers, **kwargs)


class UnauthorizedError(CandidError):
    """Candid's name for "authenticated, but not allowed": another organization's data."""

    status = 403
    code = "UnauthorizedError"
    default_message = "You are not authorized to access this resource."


class EntityNotFoundError(CandidError):
    """``content`` is ``{"id": <the id that was not found>}``."""

    status = 404
    code = "EntityNotFoundError"
    default_message = "Entity not found."

    def __init__(self, entity_id: str | None = None, message: str | None = None, **kwargs: Any) -> None:
        self.entity_id = entity_id
        super().__init__(message or (f"{entity_id} was not found" if entity_id else None), **kwargs)

    def content(self, request: Request) -> Any:
        if self.entity_id is not None:
            return {"id": self.entity_id}
        params = {**(getattr(request.state, "route_params", None) or {}), **request.path_params}
        fallback = params.get("encounter_id") or params.get("charge_capture_external_id")
        return {"id": str(fallback or request.url.path.rstrip("/").rsplit("/", 1)[-1])}


class EntityConflictError(CandidError):
    """``content`` is ``{"entity_name": ...}``."""

    status = 409
    code = "EntityConflictError"
    default_message = "The entity conflicts with its current state."

    def __init__(self, entity_name: str | None = None, message: str | None = None, **kwargs: Any) -> None:
        self.entity_name = entity_name
        super().__init__(message, **kwargs)

    def content(self, request: Request) -> Any:
        if self.entity_name is not None:
            return {"entity_name": self.entity_name}
        params = {**(getattr(request.state, "route_params", None) or {}), **request.path_params}
        named = "Encounter" if "encounter_id" in params else "ChargeCapture" if params else "Entity"
        return {"entity_name": named}


class InvalidContentTypeError(CandidError):
    status = 415
    code = "InvalidContentTypeError"
    default_message = "Unsupported Content-Type."


class UnprocessableEntityError(CandidError):
    """Well-formed request refused by a rule: file too large, MIME type not allowed."""

    status = 422
    code = "UnprocessableEntityError"
    default_message = "The request could not be processed."


class HttpRequestValidationError(CandidError):
    """One field failed validation: ``{"fieldName": ..., "humanReadableMessage": ...}``."""

    status = 422
    code = "HttpRequestValidationError"
    default_message = "The request is invalid."

    def __init__(self, field_name: str, message: str | None = None, **kwargs: Any) -> None:
        self.field_name = field_name
        super().__init__(message or f"{field_name} is invalid", **kwargs)

    def content(self, request: Request) -> Any:
        return {"fieldName": self.field_name, "humanReadableMessage": self.message}


class HttpRequestValidationsError(CandidError):
    """Several fields failed: ``content`` is a list of ``HttpRequestValidationError`` contents."""

    status = 422
    code = "HttpRequestValidationsError"
    default_message = "The request is invalid."

    def __init__(self, problems: list[HttpRequestValidationError], **kwargs: Any) -> None:
        self.problems = problems
        super().__init__("; ".join(problem.message for problem in problems), **kwargs)

    def content(self, request: Request) -> Any:
        return [problem.content(request) for problem in self.problems]


class TooManyRequestsError(CandidError):
    status = 429
    code = "TooManyRequestsError"
    default_message = "Too many requests: Candid allows 1000 requests per 10 seconds per IP address."


class InternalError(CandidError):
    status = 500
    code = "InternalError"
    default_message = "An unexpected error occurred."


class HttpServiceUnavailableError(CandidError):
    status = 503
    code = "HttpServiceUnavailableError"
    default_message = "The service is temporarily unavailable."


def validation_error(problems: list[HttpRequestValidationError]) -> CandidError:
    """One problem -> ``HttpRequestValidationError``; several -> ``HttpRequestValidationsError``."""
    return problems[0] if len(problems) == 1 else HttpRequestValidationsError(problems)


def render(request: Request, exc: SandboxError) -> Response:
    """Any ``SandboxError`` as Candid's ``{"errorName", "content"}`` body (core errors translated)."""
    error = exc if isinstance(exc, CandidError) else error_for_status(exc.status, exc.message)
    headers: Mapping[str, str] = {**error.headers, **exc.headers}
    body = {"errorName": error.code, "content": error.content(request)}
    return JSONResponse(body, status_code=error.status, headers=dict(headers))


_BY_STATUS: dict[int, type[CandidError]] = {
    400: BadRequestError,
    401: TokenUnauthorizedError,
    403: UnauthorizedError,
    409: EntityConflictError,
    415: InvalidContentTypeError,
    422: UnprocessableEntityError,
    429: TooManyRequestsError,
    500: InternalError,
    502: HttpServiceUnavailableError,
    503: HttpServiceUnavailableError,
    504: HttpServiceUnavailableError,
}


def error_for_status(status: int, message: str | None) -> CandidError:
    """Candid's error for an HTTP status (scenario faults, Starlette 404/405, core errors).

    404 is ``EntityNotFoundError`` naming the path's id, 409 ``EntityConflictError`` naming the
    path's entity; other unlisted 4xx statuses use the
    ``BadRequestError`` body and other 5xx the ``InternalError`` body, keeping the status.
    """
    if status == 404:
        return EntityNotFoundError(None, message)
    if status == 409:
        return EntityConflictError(None, message)
    error_class = _BY_STATUS.get(status) or (BadRequestError if status < 500 else InternalError)
    error = error_class(message)
    error.status = status
    return error
