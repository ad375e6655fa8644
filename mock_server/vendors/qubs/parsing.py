"""Request plumbing shared by the QUBS handlers: JSON bodies, schema checks, Idempotency-Key, replies.

Schema failures become one 400 whose ``detail`` names each failing field and rule, e.g.
``items[0].fileName must be at most 255 characters (rule: maxLength)``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from mock_server.core.idempotency import IdempotencyConflict, StoredResponse, fingerprint
from mock_server.core.jsontext import dumps
from mock_server.core.openapi import ValidationIssue, check_parameters, parameter_schema_of
from mock_server.core.requests import read_json, sandbox_of
from mock_server.vendors.qubs.auth import Principal
from mock_server.vendors.qubs.errors import BadRequest, Conflict
from mock_server.vendors.qubs.spec import DOCUMENT

REPLAY_HEADER = "Idempotent-Replayed"
_REQUIRED = re.compile(r"^'(?P<name>.+)' is a required property$")


def json_reply(body: Any, status: int = 200) -> Response:
    """Compact UTF-8 JSON, as ASP.NET Core's System.Text.Json writes it (docs/vendors/qubs.md)."""
    return Response(dumps(body), status_code=status, media_type="application/json")


async def json_body(request: Request, limit: int) -> Any:
    """The parsed JSON body. Raises: BadRequest (not JSON, malformed, or larger than ``limit`` bytes)."""
    media = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media != "application/json" and not (media.startswith("application/") and media.endswith("+json")):
        raise BadRequest(f"Content-Type must be application/json; got {media or 'none'}.")
    return await read_json(request, limit, _too_large, _malformed)


def _too_large(limit: int) -> BadRequest:
    return BadRequest(f"The request body exceeds {limit} bytes.")


def _malformed(exc: Exception) -> BadRequest:
    return BadRequest(f"The request body is not valid JSON: {exc}.")


def parameters(request: Request, operation_id: str) -> dict[str, Any]:
    """The operation's path, query and header parameters as openapi.yaml declares them (coerced, with
    defaults). Raises: BadRequest naming the first parameter that breaks its schema."""

    def error(issues: list[ValidationIssue]) -> BadRequest:
        return BadRequest(_describe_parameter(operation_id, issues[0]))

    return check_parameters(DOCUMENT, operation_id, request, error)


def _describe_parameter(operation_id: str, issue: ValidationIssue) -> str:
    location, name = issue.loc
    schema = parameter_schema_of(DOCUMENT, operation_id, str(location), str(name))
    types = schema.get("type")
    if issue.keyword in ("type", "pattern") and "integer" in (types if isinstance(types, list) else [types]):
        return f"{name}: must be an integer (type); got {issue.value!r}."
    if issue.keyword in ("minimum", "maximum"):
        return (
            f"{name}: must be between {schema['minimum']} and {schema['maximum']} (range); got {issue.value}."
        )
    if issue.keyword == "enum":
        return f"{name}: must be one of {', '.join(schema['enum'])} (enum); got {issue.value!r}."
    if issue.keyword in ("pattern", "maxLength"):  # Idempotency-Key, the one patterned text parameter
        return f"{name}: must be printable ASCII, at most {schema['maxLength']} characters (format)."
    return f"{name}: {issue.message} ({issue.keyword})."


def check_body(operation_id: str, body: Any) -> None:
    """Raises: BadRequest naming every field and rule the body breaks in the OpenAPI request schema."""
    issues = DOCUMENT.validate_request(operation_id, body)
    if issues:
        schema = _request_schema(operation_id)
        raise BadRequest(
            "Invalid request body: " + "; ".join(_describe(i, schema) for i in issues[:10]) + "."
        )


def run_idempotent(
    request: Request,
    operation: str,
    principal: Principal,
    domain: str,
    key: str | None,
    payload: object,
    ttl: float,
    produce: Callable[[], Response],
) -> Response:
    """Call ``produce`` once per live Idempotency-Key (scoped to client, domain and operation) and
    replay its stored bytes afterwards; without a key, just call it.

    Raises: Conflict when the key was used with another ``payload``.
    """
    if key is None:
        return produce()

    def stored() -> StoredResponse:
        response = produce()
        return StoredResponse(
            response.status_code, bytes(response.body), {"content-type": response.headers["content-type"]}
        )

    scope = ("qubs", principal.client_id, domain, operation)
    try:
        result, replayed = sandbox_of(request).idempotency.run(scope, key, fingerprint(payload), ttl, stored)
    except IdempotencyConflict as exc:
        raise Conflict(f"Idempotency-Key '{key}' was already used with a different request payload.") from exc
    headers = {REPLAY_HEADER: "true"} if replayed else {}
    return Response(result.body, status_code=result.status, headers={**result.headers, **headers})


def _request_schema(operation_id: str) -> dict[str, Any]:
    _, _, operation = DOCUMENT.operations[operation_id]
    return DOCUMENT.resolve(operation["requestBody"]["content"]["application/json"]["schema"])


def _subschema(schema: dict[str, Any], loc: tuple[str | int, ...]) -> dict[str, Any]:
    node = schema
    for part in loc:
        node = DOCUMENT.resolve(node)
        node = node.get("items", {}) if isinstance(part, int) else node.get("properties", {}).get(part, {})
    return DOCUMENT.resolve(node)


def _field(loc: tuple[str | int, ...]) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text or "body"


def _describe(issue: ValidationIssue, schema: dict[str, Any]) -> str:
    rule = _subschema(schema, issue.loc)
    field = _field(issue.loc)
    keyword = issue.keyword
    if keyword == "required" and (match := _REQUIRED.match(issue.message)):
        return f"{_field((*issue.loc, match['name']))} is required (rule: required)"
    if keyword == "type":
        types = rule.get("type")
        wanted = " or ".join(types) if isinstance(types, list) else types
        return f"{field} must be of type {wanted} (rule: type)"
    if keyword == "enum":
        options = ", ".join("null" if v is None else str(v) for v in rule.get("enum", []))
        return f"{field} must be one of {options} (rule: enum)"
    phrases = {
        "maxLength": f"must be at most {rule.get('maxLength')} characters",
        "minLength": f"must be at least {rule.get('minLength')} character(s)",
        "maxItems": f"must contain at most {rule.get('maxItems')} items",
        "minItems": f"must contain at least {rule.get('minItems')} item(s)",
        "pattern": "must not be blank"
        if rule.get("pattern") == r"\S"
        else f"must match {rule.get('pattern')}",
    }
    return f"{field} {phrases.get(keyword, issue.message)} (rule: {keyword})"
