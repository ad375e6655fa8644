"""Rule matchers, compiled once at load time, and the request view they read.

A matcher value is a scalar (equal), a list (equal to one of them) or an object of tests that
must all hold (``equals``, ``one_of``, ``contains``, ``glob``, ``matches``, ``present``, ``not``).
Values are compared as text (``5`` matches the query string ``"5"``; ``true`` matches ``"true"``).
In ``vendor``, ``operation`` and ``path`` a plain string with ``*`` is a wildcard pattern.
Several values (repeated query parameters, headers, form fields, ``*`` in a JSON path) match
when any of them does.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Any
from urllib.parse import parse_qsl

Test = Callable[[Any], bool]
MISSING: Any = type("Missing", (), {"__repr__": lambda self: "MISSING"})()


def as_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dict | list):
        return json.dumps(value, separators=(",", ":"), sort_keys=True)
    return str(value)


def compile_matcher(spec: Any, *, wildcard: bool = False) -> Test:
    """A test over one value (``MISSING`` when absent). Raises: re.error for a bad ``matches``."""
    if isinstance(spec, list):
        options = frozenset(as_text(item) for item in spec)
        return lambda value: value is not MISSING and as_text(value) in options
    if not isinstance(spec, dict):
        expected = as_text(spec)
        if wildcard and "*" in expected:
            return lambda value: value is not MISSING and fnmatchcase(as_text(value), expected)
        # Most values are strings already: compare them without converting.
        return lambda value: (
            value == expected
            if value.__class__ is str
            else value is not MISSING and as_text(value) == expected
        )
    tests: list[Test] = []
    for kind, argument in spec.items():
        tests.append(_TESTS[kind](argument))
    return lambda value: all(test(value) for test in tests)


def _equals(argument: Any) -> Test:
    return compile_matcher(argument if not isinstance(argument, list | dict) else as_text(argument))


def _one_of(argument: list[Any]) -> Test:
    return compile_matcher(list(argument))


def _contains(argument: str) -> Test:
    return lambda value: value is not MISSING and argument in as_text(value)


def _glob(argument: str) -> Test:
    return lambda value: value is not MISSING and fnmatchcase(as_text(value), argument)


def _matches(argument: str) -> Test:
    pattern = re.compile(argument)
    return lambda value: value is not MISSING and pattern.search(as_text(value)) is not None


def _present(argument: bool) -> Test:
    return lambda value: (value is not MISSING) is argument


def _not(argument: Any) -> Test:
    inner = compile_matcher(argument)
    return lambda value: not inner(value)


_TESTS: dict[str, Callable[[Any], Test]] = {
    "equals": _equals,
    "one_of": _one_of,
    "contains": _contains,
    "glob": _glob,
    "matches": _matches,
    "present": _present,
    "not": _not,
}


def any_value(test: Test, values: Sequence[Any]) -> bool:
    """Several values match when any does; none at all is ``MISSING``."""
    return any(test(value) for value in values) if values else test(MISSING)


def _json_path(path: str) -> tuple[str, ...]:
    """``items[0].fileName`` and ``items.0.fileName`` are the same path; ``*`` is any element or key."""
    return tuple(part for part in re.sub(r"\[(\*|\d+)\]", r".\1", path).split(".") if part)


def json_values(document: Any, path: tuple[str, ...]) -> list[Any]:
    found = [document]
    for part in path:
        following: list[Any] = []
        for node in found:
            if isinstance(node, dict):
                following += list(node.values()) if part == "*" else ([node[part]] if part in node else [])
            elif isinstance(node, list):
                if part == "*":
                    following += node
                elif part.isdigit() and int(part) < len(node):
                    following.append(node[int(part)])
        found = following
    return found


Check = Callable[["RequestFacts"], bool]


@dataclass(frozen=True)
class Conditions:
    """One alternative of a rule's ``match``: every condition present must hold.

    ``vendor``, ``operation`` and ``method`` depend on the route alone, so the engine tests them once
    per route (``accepts``) and caches the outcome; the other conditions are ``checks`` over one request.
    """

    vendors: Test | None = None
    operations: Test | None = None
    methods: frozenset[str] | None = None
    checks: tuple[Check, ...] = ()
    body_checks: tuple[Check, ...] = ()

    @property
    def needs_body(self) -> bool:
        return bool(self.body_checks)

    def accepts(self, vendor: str | None, operation: str | None, method: str) -> bool:
        return (
            (self.methods is None or method in self.methods)
            and (self.vendors is None or self.vendors(vendor or MISSING))
            and (self.operations is None or self.operations(operation or MISSING))
        )

    def matches_head(self, request: RequestFacts) -> bool:
        """Everything but the body (cheap: no I/O)."""
        for check in self.checks:
            if not check(request):
                return False
        return True

    def matches_body(self, request: RequestFacts) -> bool:
        for check in self.body_checks:
            if not check(request):
                return False
        return True

    def matches(self, request: RequestFacts) -> bool:
        return self.matches_head(request) and self.matches_body(request)


@dataclass(frozen=True)
class Match:
    """A rule's ``match``: alternatives, any of which may hold (an empty match holds for everything)."""

    alternatives: tuple[Conditions, ...]

    @property
    def needs_body(self) -> bool:
        return any(alternative.needs_body for alternative in self.alternatives)

    def narrowed(self, vendor: str | None, operation: str | None, method: str) -> tuple[Conditions, ...]:
        """The alternatives a request to this route can still satisfy."""
        return tuple(alt for alt in self.alternatives if alt.accepts(vendor, operation, method))

    def wants_body(self, request: RequestFacts) -> bool:
        """True when only the body can still decide (so it is worth buffering)."""
        alternatives = self.narrowed(request.vendor, request.operation, request.method)
        return any(alt.needs_body and alt.matches_head(request) for alt in alternatives)

    def matches(self, request: RequestFacts) -> bool:
        alternatives = self.narrowed(request.vendor, request.operation, request.method)
        return any(alt.matches(request) for alt in alternatives)


def _names(spec: str | list[str]) -> Test:
    tests = [compile_matcher(item, wildcard=True) for item in ([spec] if isinstance(spec, str) else spec)]
    return tests[0] if len(tests) == 1 else lambda value: any(test(value) for test in tests)


def _path_check(test: Test) -> Check:
    return lambda request: test(request.path)


def _param_check(name: str, test: Test) -> Check:
    return lambda request: test(request.path_params.get(name, MISSING))


def _query_check(name: str, test: Test) -> Check:
    return lambda request: any_value(test, request.query.get(name, ()))


def _header_check(name: str, test: Test) -> Check:
    return lambda request: any_value(test, request.headers.get(name, ()))


def _json_check(path: tuple[str, ...], test: Test) -> Check:
    def check(request: RequestFacts) -> bool:
        document = request.json_body
        return document is not MISSING and any_value(test, json_values(document, path))

    return check


def _form_check(name: str, test: Test) -> Check:
    def check(request: RequestFacts) -> bool:
        form = request.form_body
        return form is not None and any_value(test, form.get(name, ()))

    return check


def compile_conditions(spec: Mapping[str, Any]) -> Conditions:
    """Raises: re.error for an invalid ``matches`` pattern."""
    methods = spec.get("method")
    if methods is not None:
        methods = frozenset(m.upper() for m in ([methods] if isinstance(methods, str) else methods))
    checks: list[Check] = []
    if "path" in spec:
        checks.append(_path_check(compile_matcher(spec["path"], wildcard=True)))
    checks += [_param_check(name, compile_matcher(v)) for name, v in spec.get("path_params", {}).items()]
    checks += [_query_check(name, compile_matcher(v)) for name, v in spec.get("query", {}).items()]
    checks += [_header_check(name.lower(), compile_matcher(v)) for name, v in spec.get("headers", {}).items()]
    body_checks = [
        _json_check(_json_path(path), compile_matcher(v)) for path, v in spec.get("json", {}).items()
    ]
    body_checks += [_form_check(name, compile_matcher(v)) for name, v in spec.get("form", {}).items()]
    return Conditions(
        vendors=_names(spec["vendor"]) if "vendor" in spec else None,
        operations=_names(spec["operation"]) if "operation" in spec else None,
        methods=methods,
        checks=tuple(checks),
        body_checks=tuple(body_checks),
    )


def compile_match(spec: Mapping[str, Any] | Sequence[Mapping[str, Any]]) -> Match:
    """Raises: re.error for an invalid ``matches`` pattern."""
    alternatives = [spec] if isinstance(spec, Mapping) else list(spec)
    return Match(tuple(compile_conditions(alternative) for alternative in alternatives))


class RequestFacts:
    """What matchers read about one request; the engine fills the body parts when a rule needs them."""

    def __init__(self, scope: Mapping[str, Any]) -> None:
        state = scope.get("state", {})
        self.scope = scope
        self.method: str = scope.get("method", "GET").upper()
        self.path: str = scope.get("path", "/")
        self.vendor: str | None = state.get("vendor")
        self.operation: str | None = state.get("operation")
        self.path_params: Mapping[str, Any] = state.get("route_params") or {}
        self._headers: dict[str, list[str]] | None = None
        self._query: dict[str, list[str]] | None = None
        self.json_body: Any = MISSING
        self.form_body: dict[str, list[str]] | None = None

    @property
    def headers(self) -> dict[str, list[str]]:
        if self._headers is None:
            headers: dict[str, list[str]] = {}
            for name, value in self.scope.get("headers", []):
                headers.setdefault(name.decode("latin-1").lower(), []).append(value.decode("latin-1"))
            self._headers = headers
        return self._headers

    def header(self, name: str) -> str | None:
        values = self.headers.get(name)
        return values[0] if values else None

    @property
    def query(self) -> dict[str, list[str]]:
        if self._query is None:
            query: dict[str, list[str]] = {}
            raw = self.scope.get("query_string", b"").decode("latin-1")
            for name, value in parse_qsl(raw, keep_blank_values=True):
                query.setdefault(name, []).append(value)
            self._query = query
        return self._query
