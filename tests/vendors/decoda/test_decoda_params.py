"""FastAPI's parameter validation for Decoda: order of problems, ``tz`` and ``date`` query rules.

Expected bodies were recorded from FastAPI 0.165.0 / pydantic 2.14.4 (``tz: ZoneInfo = "UTC"``,
``date: datetime.date | None = None``); the date and zone rules are also compared with pydantic itself
when it is installed.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from starlette.testclient import TestClient

from mock_server.vendors.decoda.validation import parse_date, parse_zone


def missing(*loc: str | int) -> dict[str, Any]:
    return {"type": "missing", "loc": list(loc), "msg": "Field required", "input": None}


def test_query_errors_come_before_header_errors(
    client: TestClient, validate_response: Callable[..., Any]
) -> None:
    response = client.get("/decoda/attachments", params={"date": "x", "tz": "Mars/Olympus"})
    assert validate_response("decoda", "listAttachments", response) == {
        "detail": [
            {
                "type": "zoneinfo_str",
                "loc": ["query", "tz"],
                "msg": "invalid timezone: Mars/Olympus",
                "input": "Mars/Olympus",
                "ctx": {"value": "Mars/Olympus"},
            },
            {
                "type": "date_from_datetime_parsing",
                "loc": ["query", "date"],
                "msg": "Input should be a valid date or datetime, input is too short",
                "input": "x",
                "ctx": {"error": "input is too short"},
            },
            missing("header", "TENANT"),
            missing("header", "API-KEY"),
        ]
    }


def test_path_parameter_and_headers(client: TestClient, validate_response: Callable[..., Any]) -> None:
    response = client.get("/decoda/user/patient/P1001", headers={"API-KEY": "decoda-dev-key"})
    assert validate_response("decoda", "getPatient", response) == {"detail": [missing("header", "TENANT")]}


DATES = [
    "2024-03-05",
    "2024-1-01",
    "20240101",
    "2024/01/01",
    "abcd-01-01",
    "2024-01-01x",
    "2024-01-01T00:00:00",
    "2024-01-01T00:00:00Z",
    "2024-01-01 00:00",
    "1704067200",
    "1704067200000",
    "2024-00-10",
    "2024-01-00",
    "2024-01-32",
    "2023-02-29",
    "2024-02-29",
    "yesterday",
    "2024-01-0a",
    "2024-01-01T01:00:00",
    "12",
    "",
    "2024-01-01 ",
    " 2024-01-01",
    "2024-01-011",
    "0000-01-01",
    "2024-13-01",
    "2024-02-30",
]
ZONES = [
    "UTC",
    "Europe/Paris",
    "America/Argentina/Buenos_Aires",
    "Mars/Base",
    "",
    "../etc/passwd",
    "utc",
    "europe/paris",
    "EST5EDT",
    "/etc/localtime",
]


@pytest.mark.parametrize("raw", DATES, ids=repr)
def test_date_rules_match_pydantic(raw: str) -> None:
    pydantic = pytest.importorskip("pydantic")
    value, problem = parse_date(raw)
    try:
        expected = pydantic.TypeAdapter(datetime.date).validate_python(raw)
    except pydantic.ValidationError as exc:
        error = exc.errors(include_url=False)[0]
        assert value is None
        assert problem == {key: error[key] for key in ("type", "msg", "input", "ctx") if key in error}
    else:
        assert (value, problem) == (expected, None)


@pytest.mark.parametrize("raw", ZONES, ids=repr)
def test_zone_rules_match_pydantic(raw: str) -> None:
    pydantic = pytest.importorskip("pydantic")
    value, problem = parse_zone(raw)
    try:
        expected = pydantic.TypeAdapter(ZoneInfo).validate_python(raw)
    except pydantic.ValidationError as exc:
        error = exc.errors(include_url=False)[0]
        assert (value, problem) == (None, {key: error[key] for key in ("type", "msg", "input", "ctx")})
    else:
        assert (value, problem) == (expected, None)
