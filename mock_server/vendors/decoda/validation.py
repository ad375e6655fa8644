"""FastAPI's request validation, driven by ``openapi.yaml``, producing pydantic v2 error items.

FastAPI checks path, query, header and cookie parameters (in that order, each in declaration order),
then the body, and reports every problem at once. Items look like
``{"type": "missing", "loc": ["header", "TENANT"], "msg": "Field required", "input": null}``.
Rules reproduced here (checked against FastAPI 0.165 / pydantic 2.14):

- a parameter or form field that is absent is ``missing``; an empty form string counts as absent
  (FastAPI treats ``""`` in a form field as not sent); repeated fields and query parameters keep the
  last value, repeated headers the first;
- a text part where a file is declared is ``value_error`` "Expected UploadFile, received: <class 'str'>"
  (at ``["body", name, index]`` inside a file list); a file part where text is declared is ``string_type``;
- a JSON body is parsed only for ``application/json`` and ``application/*+json``; otherwise the raw
  text is validated and fails with ``model_attributes_type``; invalid JSON is ``json_invalid`` at
  ``["body", <character position>]``;
- query values with ``format: date`` follow pydantic's date parsing and its messages;
  ``format: zoneinfo`` values must be IANA zone names (pydantic's ``zoneinfo_str``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from datetime import date, datetime, timedelta
from email.message import Message
from typing import Any
from zoneinfo import ZoneInfo

from starlette.requests import Request

from mock_server.core import jsontext
from mock_server.core.multipart import FilePart
from mock_server.core.openapi import OpenApiDocument
from mock_server.vendors.decoda.errors import BadRequest, RequestValidationError
from mock_server.vendors.decoda.forms import FormData

Issue = dict[str, Any]
LOCATION_ORDER = {"path": 0, "query": 1, "header": 2, "cookie": 3}
_REQUIRED = re.compile(r"^'(.+)' is a required property$")
_TYPE_ISSUES = {
    "string": ("string_type", "Input should be a valid string"),
    "array": ("list_type", "Input should be a valid list"),
    "object": (
        "model_attributes_type",
        "Input should be a valid dictionary or object to extract fields from",
    ),
    "integer": ("int_type", "Input should be a valid integer"),
    "boolean": ("bool_type", "Input should be a valid boolean"),
}
UPLOAD_MARKER = "<UploadFile>"


def missing(loc: Iterable[str | int], value: Any = None) -> Issue:
    return {"type": "missing", "loc": list(loc), "msg": "Field required", "input": value}


def raise_if_any(issues: list[Issue]) -> None:
    """Raises: RequestValidationError (FastAPI's 422) when ``issues`` is not empty."""
    if issues:
        raise RequestValidationError(issues)


# -- parameters -------------------------------------------------------------------------------
def parameters(
    document: OpenApiDocument, operation_id: str, request: Request
) -> tuple[dict[str, Any], list[Issue]]:
    """Converted parameter values by name (defaults applied) and the problems, in FastAPI's order."""
    _, _, operation = document.operations[operation_id]
    declared = [document.resolve(param) for param in operation.get("parameters", [])]
    values: dict[str, Any] = {}
    issues: list[Issue] = []
    for param in sorted(declared, key=lambda p: LOCATION_ORDER[p["in"]]):
        name, where, schema = param["name"], param["in"], param.get("schema", {})
        raw = _raw_parameter(request, where, name)
        if raw is None:
            if param.get("required"):
                issues.append(missing([where, name]))
            values[name] = _convert(schema, schema["default"])[0] if "default" in schema else None
            continue
        value, problem = _convert(schema, raw)
        if problem is not None:
            issues.append({"type": problem.pop("type"), "loc": [where, name], **problem})
        values[name] = value
    return values, issues


def _raw_parameter(request: Request, where: str, name: str) -> str | None:
    if where == "path":
        return request.path_params.get(name)
    if where == "query":
        found = request.query_params.getlist(name)
        return found[-1] if found else None
    if where == "header":
        return request.headers.get(name)
    return request.cookies.get(name)


def _convert(schema: Mapping[str, Any], raw: str) -> tuple[Any, Issue | None]:
    fmt = schema.get("format")
    if fmt == "date":
        return parse_date(raw)
    if fmt == "zoneinfo":
        return parse_zone(raw)
    return raw, None


def parse_zone(raw: str) -> tuple[ZoneInfo | None, Issue | None]:
    try:
        return ZoneInfo(raw), None
    except Exception:  # ZoneInfoNotFoundError, ValueError (bad key), OSError, IsADirectoryError...
        return None, {
            "type": "zoneinfo_str",
            "msg": f"invalid timezone: {raw}",
            "input": raw,
            "ctx": {"value": raw},
        }


def _date_problem(raw: str, error: str) -> Issue:
    return {
        "type": "date_from_datetime_parsing",
        "msg": f"Input should be a valid date or datetime, {error}",
        "input": raw,
        "ctx": {"error": error},
    }


def _inexact(raw: str) -> Issue:
    return {
        "type": "date_from_datetime_inexact",
        "msg": "Datetimes provided to dates should have zero time - e.g. be exact dates",
        "input": raw,
    }


def parse_date(raw: str) -> tuple[date | None, Issue | None]:
    """pydantic's ``date`` from a string: ``YYYY-MM-DD``, a midnight datetime, or a whole-day timestamp."""
    if re.fullmatch(r"-?\d+", raw):
        seconds = int(raw)
        if abs(seconds) > 2 * 10**10:  # pydantic reads large numbers as milliseconds
            if seconds % 1000:
                return None, _inexact(raw)
            seconds //= 1000
        if seconds % 86400:
            return None, _inexact(raw)
        return date(1970, 1, 1) + timedelta(days=seconds // 86400), None
    if len(raw) < 10:
        return None, _date_problem(raw, "input is too short")
    for span, what in (((0, 4), "year"), ((5, 7), "month"), ((8, 10), "day")):
        if span[0] > 0 and raw[span[0] - 1] != "-":
            return None, _date_problem(raw, "invalid date separator, expected `-`")
        if not raw[span[0] : span[1]].isascii() or not raw[span[0] : span[1]].isdigit():
            return None, _date_problem(raw, f"invalid character in {what}")
    year, month, day = int(raw[0:4]), int(raw[5:7]), int(raw[8:10])
    if not 1 <= month <= 12:
        return None, _date_problem(raw, "month value is outside expected range of 1-12")
    if year == 0:
        return None, {
            "type": "date_parsing",
            "msg": "Input should be a valid date in the format YYYY-MM-DD, year 0 is out of range",
            "input": raw,
            "ctx": {"error": "year 0 is out of range"},
        }
    try:
        parsed = date(year, month, day)
    except ValueError:
        return None, _date_problem(raw, "day value is outside expected range")
    if len(raw) == 10:
        return parsed, None
    if raw[10] not in "Tt_ ":
        return None, _date_problem(raw, "invalid datetime separator, expected `T`, `t`, `_` or space")
    try:
        moment = datetime.fromisoformat(f"{raw[:10]}T{raw[11:]}")
    except ValueError:
        problem = "input is too short" if len(raw) < 16 else "invalid character in hour"
        return None, _date_problem(raw, problem)
    if (moment.hour, moment.minute, moment.second, moment.microsecond) != (0, 0, 0, 0):
        return None, _inexact(raw)
    return parsed, None


# -- multipart / urlencoded bodies ---------------------------------------------------------------
def form_body(
    document: OpenApiDocument, operation_id: str, form: FormData
) -> tuple[dict[str, Any], list[Issue]]:
    """The declared form fields (``str``, ``FilePart`` or list of ``FilePart``) and the problems."""
    schema = _request_schema(document, operation_id, "multipart/form-data")
    properties: dict[str, Any] = schema.get("properties", {})
    values: dict[str, Any] = {}
    instance: dict[str, Any] = {}
    issues: list[Issue] = []
    for name, prop in properties.items():
        found = form.values(name)
        if prop.get("type") == "array":
            bad = [(index, value) for index, value in enumerate(found) if not isinstance(value, FilePart)]
            issues += [_expected_upload(["body", name, index], value) for index, value in bad]
            if found:
                values[name], instance[name] = found, [UPLOAD_MARKER] * len(found)
            continue
        last = found[-1] if found else None
        if last is None or last == "":
            continue
        if prop.get("format") == "binary" and not isinstance(last, FilePart):
            issues.append(_expected_upload(["body", name], last))
        elif prop.get("format") != "binary" and isinstance(last, FilePart):
            issues.append(
                {
                    "type": "string_type",
                    "loc": ["body", name],
                    "msg": "Input should be a valid string",
                    "input": _upload_summary(last),
                }
            )
        values[name] = last
        instance[name] = UPLOAD_MARKER if isinstance(last, FilePart) else last
    for problem in document.validate_request(operation_id, instance, "multipart/form-data"):
        required = _REQUIRED.match(problem.message) if problem.keyword == "required" else None
        if required:
            issues.append(missing(["body", required.group(1)]))
    order = list(properties)
    issues.sort(key=lambda issue: order.index(issue["loc"][1]) if issue["loc"][1] in order else len(order))
    return values, issues


def _expected_upload(loc: list[str | int], value: Any) -> Issue:
    return {
        "type": "value_error",
        "loc": loc,
        "msg": "Value error, Expected UploadFile, received: <class 'str'>",
        "input": value,
        "ctx": {"error": {}},
    }


def _upload_summary(part: FilePart) -> dict[str, Any]:
    headers = {"content-disposition": f'form-data; name="{part.name}"; filename="{part.filename}"'}
    if part.content_type:
        headers["content-type"] = part.content_type
    return {"filename": part.filename, "size": part.body.size, "headers": headers}


def _request_schema(document: OpenApiDocument, operation_id: str, media_type: str) -> dict[str, Any]:
    _, _, operation = document.operations[operation_id]
    schema = operation["requestBody"]["content"][media_type]["schema"]
    return document.resolve(schema)


# -- JSON bodies --------------------------------------------------------------------------------
def is_json(content_type: str | None) -> bool:
    if not content_type:
        return False
    message = Message()
    message["content-type"] = content_type
    subtype = message.get_content_subtype()
    return message.get_content_maintype() == "application" and (
        subtype == "json" or subtype.endswith("+json")
    )


def json_body(
    document: OpenApiDocument, operation_id: str, content_type: str | None, raw: bytes
) -> tuple[Any, list[Issue]]:
    """The parsed body and its problems, as FastAPI reports them for a pydantic model body.

    Raises: BadRequest when a JSON body is not UTF-8 (FastAPI: "There was an error parsing the body").
    """
    if not raw:
        return None, [missing(["body"])]
    if is_json(content_type):
        try:
            body = jsontext.loads(raw.decode("utf-8"))
        except UnicodeDecodeError as exc:
            raise BadRequest("There was an error parsing the body") from exc
        except json.JSONDecodeError as exc:
            return None, [
                {
                    "type": "json_invalid",
                    "loc": ["body", exc.pos],
                    "msg": "JSON decode error",
                    "input": {},
                    "ctx": {"error": exc.msg},
                }
            ]
        except ValueError as exc:  # FastAPI answers any other body failure with this 400
            raise BadRequest("There was an error parsing the body") from exc
    else:
        body = raw.decode("utf-8", "replace")
    if body is None:
        return None, [missing(["body"])]
    schema = _request_schema(document, operation_id, "application/json")
    order = list(schema.get("properties", {}))
    issues = []
    for problem in document.validate_request(operation_id, body):
        required = _REQUIRED.match(problem.message) if problem.keyword == "required" else None
        if required:
            issues.append(missing(["body", *problem.loc, required.group(1)], body))
        elif problem.keyword == "type":
            fallback = ("value_error", problem.message)
            kind, message = _TYPE_ISSUES.get(_expected_type(problem.message), fallback)
            issues.append(
                {"type": kind, "loc": ["body", *problem.loc], "msg": message, "input": problem.value}
            )
    if not isinstance(body, dict):
        issues = [issue for issue in issues if issue["loc"] == ["body"]]
    issues.sort(key=lambda issue: _declaration_order(order, issue["loc"]))
    return body, issues


def _declaration_order(fields: list[str], loc: list[str | int]) -> tuple[int, list[tuple[int, str]]]:
    """pydantic validates fields in declaration order and list items in index order."""
    field = fields.index(loc[1]) if len(loc) > 1 and loc[1] in fields else -1
    rest = [(part, "") if isinstance(part, int) else (0, str(part)) for part in loc[2:]]
    return field, rest


def _expected_type(message: str) -> str:
    found = re.search(r"is not of type '(\w+)'", message)
    return found.group(1) if found else ""
