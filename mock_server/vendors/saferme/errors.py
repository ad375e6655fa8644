"""SaferMe's error body: Rails' ``ActiveModel::Errors`` serialised as three parallel members.

    {"errors": ["Content type can't be blank"],            # full messages
     "failures": {"content_type": ["can't be blank"]},      # attribute -> messages
     "error_codes": {"content_type": [{"error": "blank"}]}} # attribute -> details

Errors that belong to no attribute use ``base`` (the SDK's ``ResponseError`` fixture:
``{"errors": [...], "failures": {"base": [...]}, "error_codes": {"base": [{"error": "bad_credentials"}]}}``).
One class per code the sandbox answers; ``error_for_status`` covers any status a scenario injects.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from mock_server.core.errors import SandboxError
from mock_server.core.jsontext import JSONResponse

BASE = "base"


@dataclass(frozen=True)
class Problem:
    """One entry of the error body: the attribute, its message and its ``error_codes`` detail."""

    attribute: str
    message: str
    code: str
    detail: Mapping[str, Any] = field(default_factory=dict)

    @property
    def full_message(self) -> str:
        """Rails' ``full_message``: ``base`` messages as they are, others prefixed with the attribute."""
        if self.attribute == BASE:
            return self.message
        return f"{self.attribute.replace('_', ' ').capitalize()} {self.message}"


class SaferMeError(SandboxError):
    """Base class: ``code`` is the ``error_codes`` value; ``problems()`` lists the body's entries."""

    status = 500
    code = "internal_server_error"
    default_message = "We're sorry, but something went wrong."

    def problems(self) -> list[Problem]:
        return [Problem(BASE, self.message, self.code)]


class BadRequest(SaferMeError):
    status = 400
    code = "bad_request"
    default_message = "There was a problem in the JSON you submitted."


class InvalidToken(SaferMeError):
    """Missing, malformed, unknown or expired ``Authorization: Token token=...``."""

    status = 401
    code = "invalid_token"
    default_message = "You need to sign in or sign up before continuing."

    def __init__(self, message: str | None = None, **kwargs: Any) -> None:
        headers = {"WWW-Authenticate": 'Token realm="Application"', **kwargs.pop("headers", {})}
        super().__init__(message, headers=headers, **kwargs)


class InvalidRefreshToken(InvalidToken):
    """v4 Sessions refresh: unknown, used, deleted or expired refresh token, or a mismatched pair."""

    code = "invalid_refresh_token"
    default_message = "The refresh token is invalid or has expired."


class InvalidAppId(SaferMeError):
    status = 401
    code = "invalid_app_id"
    default_message = "The X-AppId header is missing or names an unknown application."


class MissingInstallationId(SaferMeError):
    status = 401
    code = "missing_installation_id"
    default_message = "The X-InstallationId header is required."


class BadCredentials(SaferMeError):
    """Sessions: blank or wrong email/password (the code the SDK's fixture shows)."""

    status = 401
    code = "bad_credentials"
    default_message = "Please enter your email and password"


class AccountLocked(SaferMeError):
    status = 401
    code = "account_locked"
    default_message = "Your account is locked."


class Forbidden(SaferMeError):
    """Authenticated, but ``X-TeamId`` names a team the credential has no access to."""

    status = 403
    code = "forbidden"
    default_message = "You are not authorized to access this team."


class NotFound(SaferMeError):
    status = 404
    code = "not_found"
    default_message = "The requested resource could not be found."


class PayloadTooLarge(SaferMeError):
    status = 413
    code = "payload_too_large"
    default_message = "The request body is too large."


class EnhanceYourCalm(SaferMeError):
    """The throttling status SaferMe documents (reset passwords), for scenarios injecting 420."""

    status = 420
    code = "enhance_your_calm"
    default_message = "Enhance your calm"


class UnprocessableEntity(SaferMeError):
    """Validation failures: one ``Problem`` per attribute and rule (Rails' ``errors.details``)."""

    status = 422
    code = "invalid"
    default_message = "The request could not be processed."

    def __init__(
        self, problems: Iterable[Problem] | None = None, message: str | None = None, **kwargs: Any
    ) -> None:
        self._problems = list(problems or [])
        if message is None and self._problems:
            message = "; ".join(problem.full_message for problem in self._problems)
        super().__init__(message, **kwargs)

    def problems(self) -> list[Problem]:
        return self._problems or [Problem(BASE, self.message, self.code)]


def invalid(attribute: str, message: str, code: str, **detail: Any) -> UnprocessableEntity:
    """A 422 with one attribute problem, e.g. ``invalid("key", "is invalid", "invalid")``."""
    return UnprocessableEntity([Problem(attribute, message, code, detail)])


class TooManyRequests(SaferMeError):
    status = 429
    code = "too_many_requests"
    default_message = "Rate limit exceeded. Please retry later."

    def __init__(self, message: str | None = None, **kwargs: Any) -> None:
        headers = {"Retry-After": "1", **kwargs.pop("headers", {})}
        super().__init__(message, headers=headers, **kwargs)


class InternalServerError(SaferMeError):
    status = 500
    code = "internal_server_error"
    default_message = "We're sorry, but something went wrong."


class BadGateway(SaferMeError):
    status = 502
    code = "bad_gateway"
    default_message = "Bad gateway."


class ServiceUnavailable(SaferMeError):
    status = 503
    code = "service_unavailable"
    default_message = "The service is temporarily unavailable. Please try again later."


class GatewayTimeout(SaferMeError):
    status = 504
    code = "gateway_timeout"
    default_message = "The server did not answer in time."


_BY_STATUS: dict[int, type[SaferMeError]] = {
    cls.status: cls
    for cls in (
        BadRequest,
        InvalidToken,
        Forbidden,
        NotFound,
        PayloadTooLarge,
        EnhanceYourCalm,
        UnprocessableEntity,
        TooManyRequests,
        InternalServerError,
        BadGateway,
        ServiceUnavailable,
        GatewayTimeout,
    )
}


def _code_of(status: int) -> str:
    try:
        return HTTPStatus(status).phrase.lower().replace(" ", "_").replace("-", "_").replace("'", "")
    except ValueError:
        return "client_error" if status < 500 else "server_error"


def error_for_status(status: int, message: str | None) -> SaferMeError:
    """SaferMe's error for any status (scenario faults, Starlette 404/405, core errors).

    Statuses without a class of their own keep their status, with a code named after it
    (405 -> ``method_not_allowed``).
    """
    error_class = _BY_STATUS.get(status)
    if error_class is not None:
        return error_class(message)
    try:
        phrase: str | None = HTTPStatus(status).phrase
    except ValueError:
        phrase = None
    return SaferMeError(message or phrase, status=status, code=_code_of(status))


def body_of(error: SaferMeError) -> dict[str, Any]:
    problems = error.problems()
    failures: dict[str, list[str]] = {}
    codes: dict[str, list[dict[str, Any]]] = {}
    for problem in problems:
        failures.setdefault(problem.attribute, []).append(problem.message)
        codes.setdefault(problem.attribute, []).append({"error": problem.code, **problem.detail})
    return {
        "errors": [problem.full_message for problem in problems],
        "failures": failures,
        "error_codes": codes,
    }


def render(request: Request, exc: SandboxError) -> Response:
    """Any ``SandboxError`` in SaferMe's format; ``X-Request-Id`` carries the correlation id."""
    error = exc if isinstance(exc, SaferMeError) else error_for_status(exc.status, exc.message)
    headers = {**error.headers, **exc.headers}
    request_id = getattr(request.state, "correlation_id", None)
    if request_id:
        headers.setdefault("X-Request-Id", request_id)
    return JSONResponse(body_of(error), status_code=error.status, headers=headers)
