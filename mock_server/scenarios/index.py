"""Rules indexed by the literal keys they name, so requests skip rules that cannot match them.

The engine's route cache narrows rules by vendor, operation and method. What is left may still
name a path, a path parameter value, a header or a query parameter; a rule whose every alternative
needs one of those that this request lacks cannot match it, and need not be looked at. Each
alternative gets one *guard*, a necessary condition read from its ``match`` spec:

- ``path_params: {name: literal}`` -> ``("param", name, literal)``;
- ``path: "/seg/..."`` (literal, or a pattern whose literal prefix holds the whole first segment)
  -> ``("segment", seg)``;
- ``query`` / ``headers`` ``{name: literal}`` -> ``(kind, name, literal)``; any other matcher that
  fails on a missing value -> ``(kind, name)`` (the key must be present).

A rule is *possible* for a request when one of its alternatives is unguarded or has its guard met;
``select`` returns the possible rules in precedence order, so the first-match decision (and every
counter) is the one a scan of all rules gives (tests/scenarios/test_rule_index.py checks it).
Selecting costs a few dictionary look-ups per request key, whatever the number of rules.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from mock_server.scenarios.matching import MISSING, RequestFacts, as_text, compile_matcher
from mock_server.scenarios.runtime import Candidate, Candidates

Guard = tuple[str, ...]
INDEX_CACHE_SIZE = 4096


def _literals(spec: Any) -> list[str] | None:
    """The texts an equality matcher accepts (scalar or list), None for any other matcher."""
    if isinstance(spec, list):
        return None if any(isinstance(item, dict | list) for item in spec) else [as_text(i) for i in spec]
    if isinstance(spec, dict):
        return None
    return [as_text(spec)]


def _segment(path: Any) -> str | None:
    """First path segment every path the matcher accepts shares, if the spec fixes one."""
    if not isinstance(path, str) or not path.startswith("/"):
        return None
    literal = path
    if "*" in path:  # fnmatch pattern: only the part before its first special character is literal
        literal = path[: min(path.find(c) for c in "*?[" if c in path)]
    rest = literal[1:]
    if "/" in rest:
        return rest.split("/", 1)[0]
    return rest if literal == path else None


def _guards(spec: Mapping[str, Any]) -> list[Guard] | None:
    """Keys any of which a request must have for this alternative to match; None: not indexable."""
    for name, value in (spec.get("path_params") or {}).items():
        texts = _literals(value)
        if texts is not None:
            return [("param", name, text) for text in texts]
    segment = _segment(spec.get("path"))
    if segment is not None:
        return [("segment", segment)]
    for kind in ("query", "headers"):
        for name, value in (spec.get(kind) or {}).items():
            key = name.lower() if kind == "headers" else name
            texts = _literals(value)
            if texts is not None:
                return [(kind, key, text) for text in texts]
            if not compile_matcher(value)(MISSING):
                return [(kind, key)]
    return None


def _alternative_specs(candidate: Candidate) -> list[Mapping[str, Any]]:
    raw = candidate.rule.spec.get("match", {})
    specs = [raw] if isinstance(raw, Mapping) else list(raw)
    by_id = {id(c): s for c, s in zip(candidate.rule.match.alternatives, specs, strict=False)}
    return [by_id.get(id(alternative), {}) for alternative in candidate.alternatives]


class RuleIndex:
    """The candidates of one route, indexed by their guards."""

    def __init__(self, found: Candidates) -> None:
        self.source = found
        every, _ = found
        self._every = every
        self._always: list[int] = []
        self._keys: dict[Guard, list[int]] = {}
        self._names: dict[str, set[str]] = {"query": set(), "headers": set()}
        self._params: set[str] = set()
        self._segments = False
        for position, candidate in enumerate(every):
            guards: list[Guard] = []
            for spec in _alternative_specs(candidate):
                found_guards = _guards(spec)
                if found_guards is None:
                    guards = []
                    break
                guards += found_guards
            if not guards:
                self._always.append(position)
                continue
            for guard in dict.fromkeys(guards):
                self._keys.setdefault(guard, []).append(position)
                kind = guard[0]
                if kind in self._names:
                    self._names[kind].add(guard[1])
                elif kind == "param":
                    self._params.add(guard[1])
                else:
                    self._segments = True
        self._trivial = len(self._always) == len(every)

    def select(self, facts: RequestFacts) -> Candidates:
        """``(candidates, those reading the body)`` possible for ``facts``, in precedence order."""
        if self._trivial:
            return self.source
        keys = self._keys
        chosen: set[int] = set(self._always)
        hits: list[list[int] | None] = []
        if self._segments:
            path = facts.path
            hits.append(keys.get(("segment", path.split("/", 2)[1] if path.startswith("/") else "")))
        for name in self._params:
            value = facts.path_params.get(name, MISSING)
            if value is not MISSING:
                hits.append(keys.get(("param", name, as_text(value))))
        for kind, names, present in self._present(facts):
            for name, values in present.items():
                if name in names:
                    hits.append(keys.get((kind, name)))
                    hits.extend(keys.get((kind, name, value)) for value in values)
        for hit in hits:
            if hit:
                chosen.update(hit)
        if not chosen:
            return (), ()
        every = self._every
        candidates = tuple(every[position] for position in sorted(chosen))
        return candidates, tuple(candidate for candidate in candidates if candidate.needs_body)

    def _present(self, facts: RequestFacts) -> Iterable[tuple[str, set[str], dict[str, list[str]]]]:
        if self._names["headers"]:
            yield "headers", self._names["headers"], facts.headers
        if self._names["query"] and facts.scope.get("query_string"):
            yield "query", self._names["query"], facts.query


class RouteIndexes:
    """One ``RuleIndex`` per route, rebuilt when the engine's candidates for that route change."""

    def __init__(self) -> None:
        self._indexes: dict[tuple[str | None, str | None, str], RuleIndex] = {}

    def select(self, found: Candidates, facts: RequestFacts) -> Candidates:
        key = (facts.vendor, facts.operation, facts.method)
        index = self._indexes.get(key)
        if index is None or index.source is not found:
            if len(self._indexes) >= INDEX_CACHE_SIZE:  # methods are client-chosen: stay bounded
                self._indexes.clear()
            index = self._indexes[key] = RuleIndex(found)
        return index.select(facts)
