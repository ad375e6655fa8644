"""A vendor's OpenAPI document: loaded once, compiled into jsonschema validators per operation.

The same document validates incoming requests, is served at ``/<vendor>/openapi.json`` and is what
the tests check every response body against (the spec is the contract, stripe-mock style).
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cached_property, lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from mock_server.core.fast_schema import compile_valid_check

if TYPE_CHECKING:  # jsonschema is imported with the first validator, not at start-up
    from jsonschema import Draft202012Validator

HTTP_METHODS = ("get", "put", "post", "delete", "patch", "head", "options")
_MISSING = object()
ACCEPTED_PARAMETERS_KEPT = 4096


@dataclass(frozen=True)
class ValidationIssue:
    """One failed rule, vendor-neutral: where (``loc``), what rule, what message, which value."""

    loc: tuple[str | int, ...]
    keyword: str
    message: str
    value: Any
    rule: Any = None  # the schema keyword's value, e.g. the list of an ``enum`` or a ``maxLength``


class OpenApiDocument:
    """One vendor's openapi.yaml: operations by operationId, request/response validators, and the
    enums, ranges and limits its schemas declare (vendors read those from here, never restate them).

    Raises (lazily, on first use): OSError / yaml.YAMLError for an unreadable document.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._validators: dict[tuple[str, ...], Draft202012Validator | None] = {}
        self._valid_checks: dict[tuple[str, ...], Callable[[Any], bool]] = {}
        self._parameters: dict[str, tuple[dict[str, Any], ...]] = {}
        self._parameter_locations: dict[str, frozenset[str]] = {}
        # (operationId, location, name, raw text) -> (coerced value,) of parameters found valid
        self._accepted_parameters: dict[tuple[str, str, str, str], tuple[Any]] = {}

    @cached_property
    def document(self) -> dict[str, Any]:
        """The parsed YAML document (loaded on first use)."""
        return parsed_document(self.path)

    @cached_property
    def json_bytes(self) -> bytes:
        """The document as indented JSON, served at ``/<vendor>/openapi.json``."""
        return json.dumps(self.document, indent=2).encode("utf-8")

    @cached_property
    def operations(self) -> dict[str, tuple[str, str, dict[str, Any]]]:
        """operationId -> (METHOD, path template, operation object)."""
        found: dict[str, tuple[str, str, dict[str, Any]]] = {}
        for template, item in self.document.get("paths", {}).items():
            for method in HTTP_METHODS:
                operation = item.get(method)
                if operation and "operationId" in operation:
                    found[operation["operationId"]] = (method.upper(), template, operation)
        return found

    def _compile(self, schema: dict[str, Any]) -> Draft202012Validator:
        from jsonschema import Draft202012Validator

        # Refs such as "#/components/schemas/X" resolve against the root, so give the root the components.
        rooted = {**schema, "components": self.document.get("components", {})}
        return Draft202012Validator(rooted, format_checker=Draft202012Validator.FORMAT_CHECKER)

    def _cached(self, key: tuple[str, ...], schema: dict[str, Any] | None) -> Draft202012Validator | None:
        validator = self._validators.get(key, _MISSING)
        if validator is not _MISSING:  # compiled already: a plain read, no lock
            return validator  # type: ignore[return-value]
        with self._lock:
            if key not in self._validators:
                self._validators[key] = self._compile(schema) if schema is not None else None
            return self._validators[key]

    def request_validator(
        self, operation_id: str, media_type: str = "application/json"
    ) -> Draft202012Validator | None:
        """The validator of the operation's request body for ``media_type`` (None: no such body).

        Raises: KeyError for an unknown operationId."""
        _, _, operation = self.operations[operation_id]
        content = operation.get("requestBody", {}).get("content", {})
        schema = content.get(media_type, {}).get("schema")
        return self._cached(("request", operation_id, media_type), schema)

    def response_validator(
        self, operation_id: str, status: int, media_type: str = "application/json"
    ) -> Draft202012Validator | None:
        """The validator of the body the operation documents for ``status`` (exact, ``4XX`` or
        ``default``), for ``media_type``; None when that response has no such body.

        Raises: KeyError for an unknown operationId or an undocumented status."""
        _, _, operation = self.operations[operation_id]
        responses = operation.get("responses", {})
        response = (
            responses.get(str(status)) or responses.get(f"{str(status)[0]}XX") or responses.get("default")
        )
        if response is None:
            raise KeyError(f"{operation_id} documents no {status} response")
        response = self.resolve(response)
        schema = response.get("content", {}).get(media_type, {}).get("schema")
        return self._cached(("response", operation_id, str(status), media_type), schema)

    def component(self, name: str) -> dict[str, Any]:
        """``components.schemas[name]``, references followed. Raises: KeyError when not declared."""
        return self.resolve(self.document["components"]["schemas"][name])

    def parameter_schema(self, operation_id: str, name: str) -> dict[str, Any]:
        """The schema of the operation's parameter ``name`` (path, query or header; refs followed).

        Raises: KeyError when the operation declares no such parameter.
        """
        method, template, operation = self.operations[operation_id]
        item = self.document["paths"][template]
        for parameter in [*item.get("parameters", []), *operation.get("parameters", [])]:
            parameter = self.resolve(parameter)
            if parameter.get("name") == name:
                return self.resolve(parameter.get("schema", {}))
        raise KeyError(f"{operation_id} ({method} {template}) declares no parameter {name!r}")

    def resolve(self, node: dict[str, Any]) -> dict[str, Any]:
        """Follow a local ``$ref`` (for response objects kept under components)."""
        while "$ref" in node:
            target: Any = self.document
            for part in node["$ref"].lstrip("#/").split("/"):
                target = target[part]
            node = target
        return node

    def validate_request(
        self, operation_id: str, body: Any, media_type: str = "application/json"
    ) -> list[ValidationIssue]:
        """Every way ``body`` breaks the operation's request schema for ``media_type`` (none: valid)."""
        validator = self.request_validator(operation_id, media_type)
        if validator is None or self._known_valid(("request", operation_id, media_type), validator, body):
            return []
        return issues_of(validator, body)

    def _known_valid(self, key: tuple[str, ...], validator: Draft202012Validator, body: Any) -> bool:
        """The compiled check first: valid bodies skip ``jsonschema``, kept for the error details."""
        check = self._valid_checks.get(key)
        if check is None:
            try:
                check = compile_valid_check(validator.schema)
            except ValueError:  # a schema jsonschema-rs refuses: jsonschema alone, as before
                check = _never_known_valid
            with self._lock:
                self._valid_checks[key] = check
        return check(body)


def import_jsonschema() -> None:
    """Import jsonschema now (a warm-up step of ``serve``: the first validator would import it)."""
    import jsonschema.validators

    assert jsonschema.validators


@lru_cache(maxsize=32)
def parsed_document(path: Path) -> dict[str, Any]:
    """The YAML at ``path``, parsed once per process (libyaml when present); callers never mutate it,
    so every ``OpenApiDocument`` of one vendor spec (the vendor's, the scenario catalog's, each
    sandbox's) shares one parse. Raises: OSError, yaml.YAMLError."""
    with path.open(encoding="utf-8") as handle:
        return yaml.load(handle, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))


def _never_known_valid(_: Any) -> bool:
    return False


def issues_of(validator: Draft202012Validator, instance: Any) -> list[ValidationIssue]:
    """All failures, ordered by location so messages are stable."""
    errors = sorted(validator.iter_errors(instance), key=lambda error: [str(p) for p in error.absolute_path])
    return [
        ValidationIssue(
            tuple(error.absolute_path),
            str(error.validator),
            error.message,
            error.instance,
            error.validator_value,
        )
        for error in errors
    ]


# -- parameters (path, query, header) ------------------------------------------------------------
# Every vendor's path, query and header parameters are checked here, against the operation's declared
# parameters, before its handler does any work (stripe-mock validates each request against the spec
# before dispatch). The vendor only turns the issues into its own error (see ``check_parameters``).
PARAMETER_LOCATIONS = ("path", "query", "header")
_INTEGER = re.compile(r"^-?(?:0|[1-9]\d*)$")
_NUMBER = re.compile(r"^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?$")


def declared_parameters(document: OpenApiDocument, operation_id: str) -> list[dict[str, Any]]:
    """The operation's parameter objects (path-level ones first, operation-level ones override by
    ``(in, name)``), references followed. Raises: KeyError for an unknown operationId."""
    return list(_declared(document, operation_id))


def _declared(document: OpenApiDocument, operation_id: str) -> tuple[dict[str, Any], ...]:
    known = document._parameters.get(operation_id)
    if known is None:
        _, template, operation = document.operations[operation_id]
        item = document.document["paths"][template]
        merged: dict[tuple[str, str], dict[str, Any]] = {}
        for parameter in [*item.get("parameters", []), *operation.get("parameters", [])]:
            parameter = document.resolve(parameter)
            merged[(parameter["in"], parameter["name"])] = parameter
        known = document._parameters[operation_id] = tuple(merged.values())
    return known


def coerce_parameter(raw: str, schema: dict[str, Any]) -> Any:
    """A parameter's text as the JSON value its schema types allow (``"5"`` -> 5 where integer is
    allowed, ``"true"`` -> True where boolean is); text that fits no such type stays text, so the
    schema's ``type``/``pattern`` rule reports it."""
    types = schema.get("type", "string")
    allowed = set(types) if isinstance(types, list) else {types}
    if "integer" in allowed and _INTEGER.match(raw):
        return int(raw)
    if "number" in allowed and _NUMBER.match(raw):
        return float(raw)
    if "boolean" in allowed and raw in ("true", "false"):
        return raw == "true"
    return raw


def validate_parameters(
    document: OpenApiDocument,
    operation_id: str,
    sources: dict[str, Mapping[str, str]],
    *,
    empty_is_absent: bool = True,
) -> tuple[dict[str, Any], list[ValidationIssue]]:
    """Check the operation's declared parameters found in ``sources`` (location -> name -> text; only
    the locations given are checked, header names case-insensitively through the mapping).

    Returns ``(values, issues)``: values by parameter name, coerced (``coerce_parameter``) and with
    the schema's ``default`` for an absent optional one; issues have ``loc = (location, name)`` and
    the failing keyword (``required`` for a missing required parameter). An empty query value counts
    as absent (``?pageSize=``) unless ``empty_is_absent`` is False.
    Raises: KeyError for an unknown operationId.
    """
    values: dict[str, Any] = {}
    issues: list[ValidationIssue] = []
    accepted = document._accepted_parameters
    for parameter in _declared(document, operation_id):
        location, name = parameter["in"], parameter["name"]
        if location not in sources:
            continue
        raw = sources[location].get(name)
        if raw is not None and raw != "":
            # Values seen valid before (a domain, an id, a page size) skip coercion and validation.
            seen = accepted.get((operation_id, location, name, raw))
            if seen is not None:
                values[name] = seen[0]
                continue
        schema = document.resolve(parameter.get("schema", {}))
        if raw is None or (raw == "" and empty_is_absent and location == "query"):
            if parameter.get("required"):
                issues.append(ValidationIssue((location, name), "required", f"{name} is required", raw, True))
            elif "default" in schema:
                values[name] = schema["default"]
            continue
        value = coerce_parameter(raw, schema)
        key = ("parameter", operation_id, location, name)
        validator = document._cached(key, schema)
        found = (
            issues_of(validator, value)
            if validator is not None and not document._known_valid(key, validator, value)
            else []
        )
        issues.extend(ValidationIssue((location, name), i.keyword, i.message, raw, i.rule) for i in found[:1])
        if not found:
            values[name] = value
            if len(accepted) >= ACCEPTED_PARAMETERS_KEPT:  # client-chosen values: keep the memo bounded
                accepted.clear()
            accepted[(operation_id, location, name, raw)] = (value,)
    return values, issues


def check_parameters(
    document: OpenApiDocument,
    operation_id: str,
    request: Any,
    error: Callable[[list[ValidationIssue]], Exception],
    locations: tuple[str, ...] = PARAMETER_LOCATIONS,
) -> dict[str, Any]:
    """``validate_parameters`` over a Starlette request's ``path_params``, ``query_params`` and
    ``headers`` (only ``locations``); returns the values.

    Raises: ``error(issues)`` (the vendor's own error class, rendered in its format) when any fails.
    """
    # Only the locations the operation declares parameters in: parsing a query string costs.
    declared = document._parameter_locations.get(operation_id)
    if declared is None:
        declared = frozenset(parameter["in"] for parameter in declared_parameters(document, operation_id))
        document._parameter_locations[operation_id] = declared
    sources: dict[str, Mapping[str, str]] = {}
    for location in locations:
        if location in declared:
            sources[location] = (
                request.path_params
                if location == "path"
                else request.query_params
                if location == "query"
                else request.headers
            )
    values, issues = validate_parameters(document, operation_id, sources)
    if issues:
        raise error(issues)
    return values


def parameter_schema_of(
    document: OpenApiDocument, operation_id: str, location: str, name: str
) -> dict[str, Any]:
    """The schema of one declared parameter (refs followed). Raises: KeyError when not declared."""
    for parameter in declared_parameters(document, operation_id):
        if (parameter["in"], parameter["name"]) == (location, name):
            return document.resolve(parameter.get("schema", {}))
    raise KeyError(f"{operation_id} declares no {location} parameter {name!r}")
