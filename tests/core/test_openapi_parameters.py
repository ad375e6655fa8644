"""Path, query and header parameters checked against a vendor's OpenAPI document (core.openapi)."""

from __future__ import annotations

from pathlib import Path

import pytest

from mock_server.core.openapi import OpenApiDocument, coerce_parameter, validate_parameters

SPEC = """
openapi: 3.1.0
info: {title: t, version: "1"}
paths:
  /items/{id}:
    parameters:
      - {name: id, in: path, required: true, schema: {type: string, format: uuid}}
    get:
      operationId: getItem
      parameters:
        - {name: size, in: query, schema: {type: [integer, string], pattern: "^-?(?:0|[1-9]\\\\d*)$",
           minimum: 1, maximum: 10, default: 5}}
        - {name: mode, in: query, schema: {type: string, enum: [a, b]}}
        - {name: X-Key, in: header, required: true, schema: {type: string, maxLength: 3}}
      responses: {"200": {description: ok}}
"""
ID = "0b6f8a8e-2f55-4b43-9a55-7e0a9a2f0f10"


@pytest.fixture
def document(tmp_path: Path) -> OpenApiDocument:
    path = tmp_path / "openapi.yaml"
    path.write_text(SPEC, encoding="utf-8")
    return OpenApiDocument(path)


def _check(document: OpenApiDocument, query: dict[str, str], headers: dict[str, str], item: str = ID):
    sources = {"path": {"id": item}, "query": query, "header": headers}
    return validate_parameters(document, "getItem", sources)


def test_valid_parameters_are_coerced_and_defaulted(document: OpenApiDocument) -> None:
    values, issues = _check(document, {"mode": "a"}, {"X-Key": "k"})
    assert issues == []
    assert values == {"id": ID, "size": 5, "mode": "a", "X-Key": "k"}
    assert _check(document, {"size": "7", "mode": ""}, {"X-Key": "k"})[0]["size"] == 7


@pytest.mark.parametrize(
    ("query", "headers", "item", "expected"),
    [
        ({"size": "abc"}, {"X-Key": "k"}, ID, [(("query", "size"), "pattern")]),
        ({"size": "0"}, {"X-Key": "k"}, ID, [(("query", "size"), "minimum")]),
        ({"size": "11"}, {"X-Key": "k"}, ID, [(("query", "size"), "maximum")]),
        ({"mode": "c"}, {"X-Key": "k"}, ID, [(("query", "mode"), "enum")]),
        ({}, {}, ID, [(("header", "X-Key"), "required")]),
        ({}, {"X-Key": "long"}, ID, [(("header", "X-Key"), "maxLength")]),
        ({}, {"X-Key": "k"}, "nope", [(("path", "id"), "format")]),
    ],
    ids=[
        "not-integer",
        "below-minimum",
        "above-maximum",
        "not-in-enum",
        "missing-header",
        "too-long",
        "uuid",
    ],
)
def test_each_broken_rule_is_one_issue(
    document: OpenApiDocument, query: dict[str, str], headers: dict[str, str], item: str, expected: list
) -> None:
    _, issues = _check(document, query, headers, item)
    assert [(issue.loc, issue.keyword) for issue in issues] == expected


def test_only_the_locations_given_are_checked(document: OpenApiDocument) -> None:
    values, issues = validate_parameters(document, "getItem", {"query": {"size": "2"}})
    assert (values, issues) == ({"size": 2}, [])


@pytest.mark.parametrize(
    ("raw", "schema", "expected"),
    [
        ("12", {"type": ["integer", "string"]}, 12),
        ("1.5", {"type": "number"}, 1.5),
        ("true", {"type": "boolean"}, True),
        ("12", {"type": "string"}, "12"),
        ("x1", {"type": "integer"}, "x1"),
    ],
)
def test_coercion_follows_the_declared_types(raw: str, schema: dict, expected: object) -> None:
    assert coerce_parameter(raw, schema) == expected


def test_a_value_found_valid_is_remembered_but_others_are_still_checked(document: OpenApiDocument) -> None:
    first = _check(document, {"size": "7"}, {"X-Key": "abc"})
    again = _check(document, {"size": "7"}, {"X-Key": "abc"})  # from the memo of accepted values
    assert first == again == ({"id": ID, "size": 7, "X-Key": "abc"}, [])
    _, issues = _check(document, {"size": "70"}, {"X-Key": "abcd"})
    assert [(i.loc, i.keyword) for i in issues] == [
        (("query", "size"), "maximum"),
        (("header", "X-Key"), "maxLength"),
    ]
    _, issues = _check(document, {}, {"X-Key": "abc"}, item="not-a-uuid")
    assert [(i.loc, i.keyword) for i in issues] == [(("path", "id"), "format")]


def test_the_memo_of_accepted_values_stays_bounded(
    document: OpenApiDocument, monkeypatch: pytest.MonkeyPatch
) -> None:
    import mock_server.core.openapi as openapi

    monkeypatch.setattr(openapi, "ACCEPTED_PARAMETERS_KEPT", 3)
    for size in range(1, 11):
        assert _check(document, {"size": str(size)}, {"X-Key": "k"})[0]["size"] == size
        assert len(document._accepted_parameters) <= 3
