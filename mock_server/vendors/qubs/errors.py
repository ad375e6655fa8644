"""QUBS errors: RFC 9457 problem details, and OAuth-style bodies on the token endpoint.

Every documented status has a class named after its ``urn:qubs:integrations:<slug>`` type. Statuses
QUBS does not document (422, 405, 502-504 injected by scenarios, ...) keep their HTTP status and use
the nearest documented type: ``bad-request`` for 4xx, ``server-error`` for 5xx.
"""

from __future__ import annotations

import json
from http import HTTPStatus

from starlette.requests import Request
from starlette.responses import Response

from mock_server.core.errors import SandboxError

TYPE_PREFIX = "urn:qubs:integrations:"
PROBLEM_JSON = "application/problem+json"
TOKEN_OPERATION = "qubs.createToken"
MOUNT_PREFIX = "/qubs"


class QubsProblem(SandboxError):
    """A problem+json refusal; ``code`` is the slug that completes the ``urn:qubs:integrations:`` type."""

    status = 500
    code = "server-error"
    default_message = "An unexpected error occurred."

    @property
    def type_uri(self) -> str:
        return TYPE_PREFIX + self.code


class BadRequest(QubsProblem):
    status = 400
    code = "bad-request"
    default_message = "The request is invalid."


class Unauthorized(QubsProblem):
    status = 401
    code = "unauthorized"
    default_message = "A valid bearer token is required."


class Forbidden(QubsProblem):
    status = 403
    code = "forbidden"
    default_message = "The bearer token is not authorized for this domain."


class NotFound(QubsProblem):
    status = 404
    code = "not-found"
    default_message = "The requested resource was not found."


class Conflict(QubsProblem):
    status = 409
    code = "conflict"
    default_message = "The Idempotency-Key was already used with a different request payload."


class TooManyRequests(QubsProblem):
    status = 429
    code = "too-many-requests"
    default_message = "Too many requests; retry after the number of seconds in Retry-After."


class ServerError(QubsProblem):
    status = 500
    code = "server-error"
    default_message = "An unexpected error occurred."


PROBLEMS: dict[int, type[QubsProblem]] = {
    cls.status: cls for cls in (BadRequest, Unauthorized, Forbidden, NotFound, Conflict, TooManyRequests)
}
DEFAULT_RETRY_AFTER = "1"


class OAuthError(SandboxError):
    """RFC 6749 section 5.2 error, answered by ``POST /oauth2/token`` only."""

    status = 400
    code = "invalid_request"
    default_message = "The request is missing a required parameter or is otherwise malformed."


class InvalidRequest(OAuthError):
    pass


class InvalidClient(OAuthError):
    status = 401
    code = "invalid_client"
    default_message = "Client authentication failed."


class UnsupportedGrantType(OAuthError):
    code = "unsupported_grant_type"
    default_message = "Only the client_credentials grant is supported."


OAUTH_CODES_BY_STATUS = {
    400: "invalid_request",
    401: "invalid_client",
    403: "unauthorized_client",
    429: "too_many_requests",
}


def error_for_status(status: int, message: str | None) -> SandboxError:
    """The QUBS problem for any status (used for injected faults and Starlette's 404/405)."""
    error_class = PROBLEMS.get(status)
    if error_class is None:
        error_class = ServerError if status >= 500 else BadRequest
    error = error_class(message)
    error.status = status
    if status == 429:
        error.headers.setdefault("Retry-After", DEFAULT_RETRY_AFTER)
    return error


def instance_path(request: Request) -> str:
    """The request path relative to the QUBS base URL (``/integrations/v1/...``)."""
    path = request.scope.get("path", "")
    if path.startswith(MOUNT_PREFIX + "/"):
        return path[len(MOUNT_PREFIX) :]
    return path


def _title(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def render(request: Request, exc: SandboxError) -> Response:
    if isinstance(exc, OAuthError) or getattr(request.state, "operation", None) == TOKEN_OPERATION:
        return _render_oauth(exc)
    problem = exc if isinstance(exc, QubsProblem) else error_for_status(exc.status, exc.message)
    body = {
        "type": problem.type_uri,
        "title": _title(problem.status),
        "status": problem.status,
        "detail": problem.message,
        "instance": instance_path(request),
        "requestId": getattr(request.state, "correlation_id", None) or "",
    }
    headers = {**problem.headers, **exc.headers}
    return Response(
        json.dumps(body).encode("utf-8"), status_code=problem.status, headers=headers, media_type=PROBLEM_JSON
    )


def _render_oauth(exc: SandboxError) -> Response:
    if isinstance(exc, OAuthError):
        code = exc.code
    else:
        code = OAUTH_CODES_BY_STATUS.get(
            exc.status, "server_error" if exc.status >= 500 else "invalid_request"
        )
    body = {"error": code, "error_description": exc.message}
    headers = {"Cache-Control": "no-store", "Pragma": "no-cache", **exc.headers}
    if exc.status == 429:
        headers.setdefault("Retry-After", DEFAULT_RETRY_AFTER)
    return Response(
        json.dumps(body).encode("utf-8"),
        status_code=exc.status,
        headers=headers,
        media_type="application/json",
    )
