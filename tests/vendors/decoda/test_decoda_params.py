"""FastAPI's parameter validation for Decoda: order of problems, ``tz`` and ``date`` query rules.

The app is FastAPI, so these bodies are FastAPI's own; the tests pin the order (the ``TENANT`` /
``API-KEY`` dependency first, then the endpoint's query parameters) and compare the ``date`` and
``tz`` problems with pydantic's own answers for the same values.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from typing import Any
from zoneinfo import ZoneInfo

import pydantic
import pytest
from starlette.testclient import TestClient

DEMO = {"TENANT": "demo", "API-KEY": "decoda-dev-key"}


def missing(*loc: str | int) -> dict[str, Any]:
    return {"type": "missing", "loc": list(loc), "msg": "Field required", "input": None}


def test_header_errors_come_before_query_errors(
    client: TestClient, validate_response: Callable[..., Any]
) -> None:
    response = client.get("/decoda/attachments", params={"date": "x"})
    assert validate_response("decoda", "listAttachments", response) == {
        "detail": [
            missing("header", "TENANT"),
            missing("header", "API-KEY"),
            missing("query", "tz"),
            {
                "type": "date_from_datetime_parsing",
                "loc": ["query", "date"],
                "msg": "Input should be a valid date or datetime, input is too short",
                "input": "x",
                "ctx": {"error": "input is too short"},
            },
        ]
    }


def test_tz_is_required(client: TestClient, validate_response: Callable[..., Any]) -> None:
    response = client.get("/decoda/attachments", headers=DEMO)
    assert response.status_code == 422
    assert validate_response("decoda", "listAttachments", response) == {"detail": [missing("query", "tz")]}


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
def test_date_rules_are_pydantics(client: TestClient, raw: str) -> None:
    response = client.get("/decoda/attachments", params={"tz": "UTC", "date": raw}, headers=DEMO)
    try:
        expected = pydantic.TypeAdapter(datetime.date).validate_python(raw)
    except pydantic.ValidationError as exc:
        error = exc.errors(include_url=False)[0]
        assert response.status_code == 422
        (item,) = response.json()["detail"]
        assert item == {
            "loc": ["query", "date"],
            **{k: error[k] for k in ("type", "msg", "input", "ctx") if k in error},
        }
    else:
        assert (response.status_code, response.json()["date"]) == (200, expected.isoformat())


@pytest.mark.parametrize("raw", ZONES, ids=repr)
def test_zone_rules_match_pydantic(client: TestClient, raw: str) -> None:
    response = client.get("/decoda/attachments", params={"tz": raw}, headers=DEMO)
    try:
        pydantic.TypeAdapter(ZoneInfo).validate_python(raw)
    except pydantic.ValidationError as exc:
        error = exc.errors(include_url=False)[0]
        assert response.status_code == 422
        assert response.json() == {
            "detail": [{"loc": ["query", "tz"], **{k: error[k] for k in ("type", "msg", "input", "ctx")}}]
        }
    else:
        assert response.status_code == 200
