"""The compiled check never calls valid what jsonschema refuses; vendor request schemas all compile."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from mock_server.core import openapi
from mock_server.core.fast_schema import compile_valid_check

VENDORS = Path(openapi.__file__).parent.parent / "vendors"
SCHEMA = {
    "type": "object",
    "required": ["pattern"],
    "properties": {
        "pattern": {"type": "string", "pattern": "\\S"},  # a property named like the keyword
        "code": {"type": "string", "pattern": "^[0-9]+$"},
        "word": {"type": "string", "pattern": "^\\w+$"},
        "day": {"type": "string", "format": "date"},
        "id": {"type": "string", "format": "uuid"},
        "kind": {"enum": ["a", "b"]},
        "n": {"type": "integer", "minimum": 1, "maximum": 500},
        "items": {"type": "array", "maxItems": 3, "items": {"$ref": "#/components/schemas/Item"}},
    },
    "components": {
        "schemas": {"Item": {"type": "object", "properties": {"name": {"type": "string", "maxLength": 4}}}}
    },
}
REFERENCE = Draft202012Validator(SCHEMA, format_checker=Draft202012Validator.FORMAT_CHECKER)
CHECK = compile_valid_check(SCHEMA)
TRICKY = st.sampled_from(
    [
        " ",
        "\x1c",
        "\x1f",
        "\x85",
        "\xa0",
        "\ufeff",
        "12\n",
        "١٢",
        "é",
        "2024-02-30",
        "2024-02-29",
        "12345678-1234-5678-1234-567812345678",
        "a",
        "abcde",
        "0",
        "1",
    ]
)
STRINGS = TRICKY | st.text(max_size=6)
SCALARS = st.none() | st.booleans() | st.integers(-2, 600) | st.floats(allow_nan=True) | STRINGS
VALUES = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from(["name", "x"]), inner, max_size=2)
    ),
    max_leaves=6,
)
BODIES = st.dictionaries(
    st.sampled_from(["pattern", "code", "word", "day", "id", "kind", "n", "items"]),
    VALUES | STRINGS,
    max_size=5,
)


@settings(max_examples=600, deadline=None)
@given(BODIES)
def test_compiled_check_never_accepts_what_jsonschema_refuses(body: dict[str, Any]) -> None:
    if CHECK(body):
        assert REFERENCE.is_valid(body)


@pytest.mark.parametrize("blank", ["\x1c", "\x1f", "\x85", "  "])
def test_python_whitespace_is_whitespace_for_pattern(blank: str) -> None:
    assert not CHECK({"pattern": blank})
    assert not REFERENCE.is_valid({"pattern": blank})


def test_property_named_pattern_keeps_its_name() -> None:
    assert CHECK({"pattern": "x"})
    assert not CHECK({})


def test_uncompilable_instances_are_not_known_valid() -> None:
    assert not CHECK({"pattern": b"x"})


@pytest.mark.parametrize("spec", sorted(VENDORS.glob("*/openapi.yaml")), ids=lambda p: p.parent.name)
def test_every_vendor_request_schema_compiles(spec: Path) -> None:
    document = openapi.OpenApiDocument(spec)
    compiled = 0
    for operation_id, (_, _, operation) in document.operations.items():
        for media_type in operation.get("requestBody", {}).get("content", {}):
            validator = document.request_validator(operation_id, media_type)
            if validator is not None:
                compile_valid_check(validator.schema)  # raises ValueError if jsonschema-rs refuses it
                compiled += 1
    assert compiled >= 1
