"""A rule checked against the catalog: names it uses must exist where the rule can apply.

A rule naming something the sandbox does not have would never fire, and the test that relies on it
would pass without rehearsing the failure. So each ``match`` alternative is narrowed to the
operations it can apply to (``vendor``, ``operation``, ``method``), and every path parameter,
header, query parameter and body field it names must belong to at least one of them; a ``respond``
status must be one each reachable vendor can answer in its own error format.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from mock_server.scenarios.catalog import COMMON_HEADERS, Catalog, Operation, suggest

Problem = tuple[list[object], str]


def _names(value: str | list[str]) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


def _describe(candidates: list[Operation]) -> str:
    if len(candidates) == 1:
        return candidates[0].name
    vendors = sorted({op.vendor for op in candidates})
    return f"none of the {len(candidates)} {'/'.join(vendors)} operations this rule can match"


def _candidates(
    alt: Mapping[str, Any], catalog: Catalog, where: list[object]
) -> tuple[list[Operation], list[Problem]]:
    problems: list[Problem] = []
    operations = list(catalog.operations.values())
    if "vendor" in alt:
        vendors, found = catalog.expand(_names(alt["vendor"]), "vendor")
        problems += [([*where, "vendor"], reason) for reason in found]
        operations = [op for op in operations if op.vendor in vendors]
    if "operation" in alt:
        names, found = catalog.expand(_names(alt["operation"]), "operation")
        problems += [([*where, "operation"], reason) for reason in found]
        narrowed = [op for op in operations if op.name in names]
        if names and not narrowed and "vendor" in alt and not problems:
            problems.append(
                ([*where, "operation"], f"no operation named here belongs to vendor {alt['vendor']}")
            )
        operations = narrowed
    if "method" in alt and operations:
        methods = {m.upper() for m in _names(alt["method"])}
        allowed = [
            op
            for op in operations
            if methods & ({*op.methods, "HEAD"} if "GET" in op.methods else set(op.methods))
        ]
        if not allowed:
            taken = sorted({m for op in operations for m in op.methods})
            problems.append(
                (
                    [*where, "method"],
                    f"{_describe(operations)} {'does not take' if len(operations) == 1 else 'takes'} "
                    f"{'/'.join(sorted(methods))} "
                    f"(it takes {', '.join(taken)})",
                )
            )
        operations = allowed
    return operations, problems


def _unknown(
    kind: str, names: Iterable[str], candidates: list[Operation], attribute: str, where: list[object]
) -> list[Problem]:
    problems: list[Problem] = []
    for name in names:
        key = _key(kind, name)
        if any(_has(op, attribute, key) for op in candidates):
            continue
        known = sorted({n for op in candidates for n in (getattr(op, attribute) or ())})
        listing = f"; it has: {', '.join(known)}" if known and len(known) <= 12 else ""
        problems.append(
            (
                [*where, name],
                f"{_describe(candidates)} has {'no' if len(candidates) == 1 else 'a'} {kind} "
                f"{name!r}{suggest(key, known)}{listing}",
            )
        )
    return problems


def _key(kind: str, name: str) -> str:
    if kind == "header":
        return name.lower()
    if kind == "JSON field":
        return (re.split(r"[.\[]", name, maxsplit=1)[0] or name).strip("]")
    return name


def _has(op: Operation, attribute: str, key: str) -> bool:
    known = getattr(op, attribute)
    if attribute == "headers" and (key in COMMON_HEADERS or key.startswith("x-amz-")):
        return True
    return known is None or key in known or key == "*"


def alternative_problems(
    alt: Mapping[str, Any], catalog: Catalog, where: list[object]
) -> tuple[list[Operation], list[Problem]]:
    """The operations one ``match`` alternative can apply to, and what it names that they do not have."""
    candidates, problems = _candidates(alt, catalog, where)
    if problems or not candidates:
        return candidates, problems
    for key, kind, attribute in (
        ("path_params", "path parameter", "path_params"),
        ("headers", "header", "headers"),
        ("query", "query parameter", "query"),
        ("json", "JSON field", "json_fields"),
        ("form", "form field", "form_fields"),
    ):
        problems += _unknown(kind, alt.get(key, {}), candidates, attribute, [*where, key])
    return candidates, problems


def rule_problems(spec: Mapping[str, Any], catalog: Catalog, where: list[object]) -> list[Problem]:
    """Every problem of one rule (paths are absolute within the file)."""
    match = spec.get("match", {})
    alternatives = (
        [(match, [*where, "match"])]
        if isinstance(match, Mapping)
        else [(alt, [*where, "match", index]) for index, alt in enumerate(match)]
    )
    problems: list[Problem] = []
    reachable: list[Operation] = []
    for alt, at in alternatives:
        candidates, found = alternative_problems(alt, catalog, at)
        problems += found
        if "vendor" in alt or "operation" in alt:  # a catch-all rule is not held to every vendor's format
            reachable += candidates
    respond = spec.get("respond")
    status = respond if isinstance(respond, int) else (respond or {}).get("status")
    if isinstance(status, int) and status >= 400 and not (isinstance(respond, dict) and "body" in respond):
        for vendor_name in sorted({op.vendor for op in reachable}):
            statuses = catalog.vendors[vendor_name].error_statuses
            if statuses is not None and status not in statuses:
                listed = ", ".join(map(str, sorted(statuses)))
                problems.append(
                    (
                        [*where, "respond"],
                        f"{vendor_name} cannot answer {status} in its own error format "
                        f"(it answers {listed}; give a 'body' to answer anyway)",
                    )
                )
    return problems
