"""Scenario files -> validated, immutable ``Scenario``/``Rule`` records.

A file is YAML (JSON is YAML too) with a top-level ``scenarios:`` list; a document that is a single
scenario mapping (has ``name``) is accepted as well, which is handy for ``POST /__admin/scenarios``.
The format is ``schema.json``; every refusal names the file, the path inside it and the reason.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mock_server.core import yamltext
from mock_server.core.fast_schema import compile_valid_check
from mock_server.scenarios.catalog import Catalog
from mock_server.scenarios.checks import rule_problems
from mock_server.scenarios.matching import Match, compile_match

SCHEMA_PATH = Path(__file__).with_name("schema.json")
SCENARIO_SUFFIXES = {".yaml", ".yml", ".json"}
DEFAULT_STATE = "Started"
ACTIONS = ("respond", "headers", "delay_ms", "lifetime", "fault", "pass", "next_state")


@dataclass(frozen=True)
class Problem:
    """One thing wrong in a document: file, 1-based line (when known), path inside it and reason."""

    file: str
    path: str
    reason: str
    line: int | None = None

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line is not None else self.file
        return f"{where}: {self.path}: {self.reason}"

    def as_dict(self) -> dict[str, Any]:
        found: dict[str, Any] = {"file": self.file, "path": self.path, "reason": self.reason}
        if self.line is not None:
            found["line"] = self.line
        return found


class ScenarioError(ValueError):
    """A scenario document that cannot be used: every problem found in it (``str``: one per line)."""

    def __init__(
        self,
        file: str,
        path: str = "(top level)",
        reason: str = "",
        line: int | None = None,
        problems: Iterable[Problem] = (),
    ) -> None:
        self.problems = list(problems) or [Problem(file, path, reason, line)]
        first = self.problems[0]
        self.file, self.path, self.reason, self.line = first.file, first.path, first.reason, first.line
        super().__init__("\n".join(str(problem) for problem in self.problems))

    def as_dict(self) -> dict[str, Any]:
        return {**self.problems[0].as_dict(), "problems": [problem.as_dict() for problem in self.problems]}


@dataclass(frozen=True)
class Respond:
    status: int
    message: str | None = None
    merge: Mapping[str, Any] | None = None
    has_body: bool = False
    body: Any = None
    content_type: str | None = None


@dataclass(frozen=True)
class Action:
    respond: Respond | None = None
    headers: tuple[tuple[str, str], ...] = ()
    delay_ms: tuple[float, float] | None = None
    lifetime: float | None = None
    fault: str | None = None
    truncate_at: int | None = None


@dataclass(frozen=True)
class Rule:
    index: int
    id: str | None
    match: Match
    action: Action
    state: str | None = None
    next_state: str | None = None
    after: int = 0
    times: int | None = None
    probability: float | None = None
    spec: Mapping[str, Any] = field(default_factory=dict, compare=False)

    @property
    def label(self) -> str:
        return self.id or str(self.index)


@dataclass(frozen=True)
class Scenario:
    name: str
    description: str
    rules: tuple[Rule, ...]
    enabled: bool = True
    seed: int = 0
    initial_state: str = DEFAULT_STATE
    source: str = "?"

    @property
    def needs_body(self) -> bool:
        return any(rule.match.needs_body for rule in self.rules)


def _schema() -> dict[str, Any]:
    return json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))


if TYPE_CHECKING:  # jsonschema is imported for the first broken document, not at start-up
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import ValidationError


@functools.cache
def _schema_of(one_scenario: bool) -> dict[str, Any]:
    """schema.json (a file of scenarios), or its ``scenario`` definition (one scenario)."""
    schema = _schema()
    return {"$defs": schema["$defs"], "$ref": "#/$defs/scenario"} if one_scenario else schema


@functools.cache
def _validator(one_scenario: bool) -> Draft202012Validator:
    from jsonschema import Draft202012Validator

    return Draft202012Validator(_schema_of(one_scenario))


@functools.cache
def _valid_check(one_scenario: bool) -> Callable[[Any], bool]:
    """The compiled check of the schema: a valid document (every file at start-up, as a rule) skips
    ``jsonschema``, kept for the messages of a broken one."""
    try:
        return compile_valid_check(_schema_of(one_scenario))
    except ValueError:
        return lambda _: False


def _where(parts: Iterable[object]) -> str:
    return "/".join(str(part) for part in parts) or "(top level)"


def _explain(error: ValidationError) -> tuple[list[object], str]:
    """Path and reason of the most useful error (for oneOf/anyOf: the branch of the instance's type)."""
    if error.validator == "anyOf" and all("required" in branch for branch in error.validator_value):
        return list(error.absolute_path), f"a rule needs at least one action: {', '.join(ACTIONS)}"
    if error.context:
        same_place = list(error.absolute_path)
        useful = [
            e for e in error.context if not (e.validator == "type" and list(e.absolute_path) == same_place)
        ]
        from jsonschema.exceptions import best_match

        chosen = best_match(useful or error.context)
        if chosen is not None:
            return _explain(chosen)
    return list(error.absolute_path), error.message


def parse_text(text: str, source: str, catalog: Catalog | None = None) -> list[Scenario]:
    """Parse a YAML or JSON document (bounded: see core/yamltext.py).

    Raises: ScenarioError naming ``source``, and for each problem its line, path and reason.
    """
    try:
        document = yamltext.load(text)
    except yamltext.YamlProblem as exc:
        raise ScenarioError(source, "(top level)", exc.reason, exc.line) from None
    return parse_scenarios(document.data, source, catalog, document)


def parse_scenarios(
    data: Any, source: str, catalog: Catalog | None = None, document: yamltext.Document | None = None
) -> list[Scenario]:
    """Validate a parsed document against schema.json (and ``catalog``, when given) and build the records.

    Raises: ScenarioError listing every problem found: file, line (when the text is known), path, reason.
    """
    if data is None:
        raise ScenarioError(source, "(top level)", "empty document: expected a 'scenarios' list")
    if not isinstance(data, dict):
        raise ScenarioError(
            source, "(top level)", "expected a mapping with a 'scenarios' list (or one scenario)"
        )
    problems: list[Problem] = []

    def problem(path: list[object], reason: str) -> None:
        line = document.line_of(path) if document is not None else None
        problems.append(Problem(source, _where(path), reason, line))

    if "scenarios" not in data and "name" in data:
        one_scenario, items, prefix = True, [data], []
    else:
        one_scenario, items, prefix = False, data.get("scenarios"), ["scenarios"]
    broken: list[str] = []
    valid = _valid_check(one_scenario)(data)
    errors = [] if valid else _validator(one_scenario).iter_errors(data)
    for error in sorted(errors, key=lambda e: [str(p) for p in e.absolute_path]):
        path, reason = _explain(error)
        problem(path, reason)
        broken.append(_where(path) + "/")
    if catalog is not None and isinstance(items, list):
        # Names are checked in every rule the schema finds nothing wrong in or under (a problem of the
        # scenario around it, such as a missing description, does not hide them), so one run reports both
        # kinds of problem.
        for where, index, spec in _rules(items, prefix):
            at = _where([*where, "rules", index]) + "/"
            if isinstance(spec, dict) and not any(b.startswith(at) for b in broken):
                for path, reason in rule_problems(spec, catalog, [*where, "rules", index]):
                    problem(path, reason)
    if problems:
        raise ScenarioError(source, problems=_unique(problems))
    assert isinstance(items, list)
    scenarios: list[Scenario] = []
    seen: dict[str, int] = {}
    for position, item in enumerate(items):
        where = [*prefix, position] if prefix else []
        if item["name"] in seen:
            problem(
                [*where, "name"],
                f"duplicate scenario name {item['name']!r} (also at position {seen[item['name']]})",
            )
        seen[item["name"]] = position
        try:
            scenarios.append(_scenario(item, source, where))
        except ScenarioError as exc:
            problems += [
                Problem(p.file, p.path, p.reason, document.line_of(p.path.split("/")) if document else None)
                for p in exc.problems
            ]
    if problems:
        raise ScenarioError(source, problems=_unique(problems))
    return scenarios


def _rules(items: list[Any], prefix: list[object]) -> Iterable[tuple[list[object], int, Mapping[str, Any]]]:
    for position, item in enumerate(items):
        rules = item.get("rules") if isinstance(item, dict) else None
        for index, spec in enumerate(rules if isinstance(rules, list) else []):
            if isinstance(spec, dict) and isinstance(spec.get("match", {}), dict | list):
                yield ([*prefix, position] if prefix else []), index, spec


def _unique(problems: list[Problem]) -> list[Problem]:
    return sorted(dict.fromkeys(problems), key=lambda p: (p.line or 0, p.path))


def _scenario(item: Mapping[str, Any], source: str, where: list[object]) -> Scenario:
    rules = []
    labels: set[str] = set()
    for index, spec in enumerate(item["rules"]):
        rule = _rule(index, spec, source, [*where, "rules", index])
        if rule.id is not None:
            if rule.id in labels:
                raise ScenarioError(
                    source, _where([*where, "rules", index, "id"]), f"duplicate rule id {rule.id!r}"
                )
            labels.add(rule.id)
        rules.append(rule)
    return Scenario(
        name=item["name"],
        description=item["description"].strip(),
        rules=tuple(rules),
        enabled=item.get("enabled", True),
        seed=item.get("seed", 0),
        initial_state=item.get("initial_state", DEFAULT_STATE),
        source=source,
    )


def _rule(index: int, spec: Mapping[str, Any], source: str, where: list[object]) -> Rule:
    try:
        match = compile_match(spec.get("match", {}))
    except re.error as exc:
        raise ScenarioError(source, _where([*where, "match"]), f"invalid regular expression: {exc}") from exc
    delay = spec.get("delay_ms")
    if isinstance(delay, dict):
        if delay["min"] > delay["max"]:
            raise ScenarioError(source, _where([*where, "delay_ms"]), "min must not be greater than max")
        delay_range: tuple[float, float] | None = (float(delay["min"]), float(delay["max"]))
    else:
        delay_range = None if delay is None else (float(delay), float(delay))
    lifetime = spec.get("lifetime")
    action = Action(
        respond=_respond(spec.get("respond")),
        headers=tuple((name, str(value)) for name, value in spec.get("headers", {}).items()),
        delay_ms=delay_range,
        lifetime=None if lifetime is None else (0.0 if lifetime == "expired" else float(lifetime)),
        fault=spec.get("fault"),
        truncate_at=spec.get("truncate_at"),
    )
    if action.fault == "drop" and (action.respond or action.headers):
        raise ScenarioError(
            source,
            _where([*where, "fault"]),
            "a dropped connection sends no response: remove 'respond'/'headers'",
        )
    return Rule(
        index=index,
        id=spec.get("id"),
        match=match,
        action=action,
        state=spec.get("state"),
        next_state=spec.get("next_state"),
        after=spec.get("after", 0),
        times=spec.get("times"),
        probability=spec.get("probability"),
        spec=dict(spec),
    )


def _respond(spec: Any) -> Respond | None:
    if spec is None:
        return None
    if isinstance(spec, int):
        return Respond(status=spec)
    return Respond(
        status=spec["status"],
        message=spec.get("message"),
        merge=spec.get("merge"),
        has_body="body" in spec,
        body=spec.get("body"),
        content_type=spec.get("content_type"),
    )


def scenario_files(paths: Iterable[Path]) -> list[Path]:
    """Files named by ``paths``: files as given, directories expanded to their *.yaml/*.yml/*.json (sorted).

    Raises: ScenarioError when a path does not exist.
    """
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files += sorted(p for p in path.iterdir() if p.suffix in SCENARIO_SUFFIXES and p.is_file())
        elif path.is_file():
            files.append(path)
        else:
            raise ScenarioError(str(path), "(file)", "no such scenario file or directory")
    return files


def load_scenario_file(path: Path | str, catalog: Catalog | None = None) -> list[Scenario]:
    """Read and validate one scenario file (checked against ``catalog`` when given).

    Raises: ScenarioError (a ValueError) listing every problem: the file, line, path inside it and
    reason; a file that cannot be read, is not UTF-8, is too large or too deep is one problem too.
    """
    file = Path(path)
    if not file.is_file():
        raise ScenarioError(str(file), "(file)", "no such scenario file")
    try:
        with file.open("rb") as handle:
            raw = handle.read(yamltext.MAX_BYTES + 1)
        text = yamltext.decode(raw)
    except OSError as exc:
        raise ScenarioError(str(file), "(file)", f"cannot be read: {exc.strerror or exc}") from None
    except yamltext.YamlProblem as exc:
        raise ScenarioError(str(file), "(file)", exc.reason, exc.line) from None
    return parse_text(text, str(file), catalog)
