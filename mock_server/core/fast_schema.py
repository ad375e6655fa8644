"""A compiled (Rust) JSON Schema check that only says "valid", to skip ``jsonschema`` on valid bodies.

``jsonschema`` walks a 20-item body in hundreds of microseconds; ``jsonschema-rs`` answers in a few.
The fast check must never accept what ``jsonschema`` (with its format checker) refuses, so:

- formats are validated (``jsonschema-rs`` checks ``date``, ``date-time``, ``uri``, ``uuid``... at
  least as strictly as ``jsonschema``, which skips the ones whose optional checkers are absent);
- ``pattern`` is evaluated by Python's ``re`` (as ``jsonschema`` does) through a custom keyword,
  because ECMA-262 / Rust classes differ from Python's (``\\S`` accepts ``\\x1c`` there, for one);
- anything the compiled validator cannot take (bytes, NaN, ...) counts as "not known valid".

A ``False`` only means "ask ``jsonschema``", which then gives the vendor's error details.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import jsonschema_rs

PY_PATTERN = "x-python-pattern"
# Keywords whose value maps names (not keywords) to schemas, and keywords holding plain data.
_NAME_MAPS = frozenset(
    {"properties", "patternProperties", "$defs", "definitions", "dependentSchemas", "schemas"}
)
_DATA = frozenset({"enum", "const", "default", "example", "examples", "required"})


class _PythonPattern:
    """``pattern`` with Python's ``re.search``, the semantics ``jsonschema`` applies."""

    def __init__(self, parent_schema: dict[str, Any], value: str, schema_path: list[str]) -> None:
        self._regex = re.compile(value)

    def validate(self, instance: Any) -> None:
        if isinstance(instance, str) and not self._regex.search(instance):
            raise ValueError("does not match pattern")


def _python_patterns(node: Any) -> Any:
    if isinstance(node, list):
        return [_python_patterns(item) for item in node]
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key == "pattern" and isinstance(value, str):
            out[PY_PATTERN] = value
        elif key in _NAME_MAPS and isinstance(value, dict):
            out[key] = {name: _python_patterns(schema) for name, schema in value.items()}
        elif key in _DATA:
            out[key] = value
        else:
            out[key] = _python_patterns(value)
    return out


def compile_valid_check(schema: dict[str, Any]) -> Callable[[Any], bool]:
    """``check(instance) -> bool``: True only when ``instance`` is valid against Draft 2020-12 ``schema``
    (a root schema, ``$ref`` targets included). Never raises for an instance; raises ValueError for a
    schema ``jsonschema-rs`` cannot compile (callers then keep ``jsonschema`` alone)."""
    validator = jsonschema_rs.Draft202012Validator(
        _python_patterns(schema), validate_formats=True, keywords={PY_PATTERN: _PythonPattern}
    )

    def check(instance: Any) -> bool:
        try:
            return validator.is_valid(instance)
        except (ValueError, TypeError, OverflowError):
            return False

    return check
