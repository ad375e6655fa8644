"""Scenario files -> validated, immutable ``Scenario``/``Rule`` records.

A file is YAML (JSON is YAML too) with a top-level ``scenarios:`` list; a document that is a single
scenario mapping (has ``name``) is accepted as well, which is handy for ``POST /__admin/scenarios``.
The format is ``schema.json``; every refusal names the file, the path inside it and the reason.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError, best_match

from mock_server.scenarios.matching import Match, compile_match

SCHEMA_PATH = Path(__file__).with_name("schema.json")
SCENARIO_SUFFIXES = {".yaml", ".yml", ".json"}
DEFAULT_STATE = "Started"
ACTIONS = ("respond", "headers", "delay_ms", "lifetime", "fault", "pass", "next_state")


class ScenarioError(ValueError):
    """A scenario document that cannot be used: which file, where in it and why."""

    def __init__(self, file: str, path: str, reason: str) -> None:
        self.file = file
        self.path = path
        self.reason = reason
        super().__init__(f"{file}: {path}: {reason}")

    def as_dict(self) -> dict[str, str]:
        return {"file": self.file, "path": self.path, "reason": self.reason}


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


_VALIDATOR = Draft202012Validator(_schema())
_SCENARIO_VALIDATOR = Draft202012Validator({"$defs": _schema()["$defs"], "$ref": "#/$defs/scenario"})


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
        chosen = best_match(useful or error.context)
        if chosen is not None:
            return _explain(chosen)
    return list(error.absolute_path), error.message


def parse_text(text: str, source: str) -> list[Scenario]:
    """Parse a YAML or JSON document.

    Raises: ScenarioError naming ``source``, the path inside it and the reason.
    """
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark is not None else "(top level)"
        raise ScenarioError(source, where, f"not valid YAML: {getattr(exc, 'problem', None) or exc}") from exc
    return parse_scenarios(data, source)


def parse_scenarios(data: Any, source: str) -> list[Scenario]:
    """Validate a parsed document against schema.json and build the records.

    Raises: ScenarioError naming ``source``, the path inside it and the reason.
    """
    if data is None:
        raise ScenarioError(source, "(top level)", "empty document: expected a 'scenarios' list")
    if not isinstance(data, dict):
        raise ScenarioError(
            source, "(top level)", "expected a mapping with a 'scenarios' list (or one scenario)"
        )
    if "scenarios" not in data and "name" in data:
        validator, items, prefix = _SCENARIO_VALIDATOR, [data], []
    else:
        validator, items, prefix = _VALIDATOR, data.get("scenarios"), ["scenarios"]
    error = best_match(validator.iter_errors(data))
    if error is not None:
        path, reason = _explain(error)
        raise ScenarioError(source, _where(path), reason)
    assert isinstance(items, list)
    scenarios: list[Scenario] = []
    seen: dict[str, int] = {}
    for position, item in enumerate(items):
        where = [*prefix, position] if prefix else []
        if item["name"] in seen:
            raise ScenarioError(
                source,
                _where([*where, "name"]),
                f"duplicate scenario name {item['name']!r} (also at position {seen[item['name']]})",
            )
        seen[item["name"]] = position
        scenarios.append(_scenario(item, source, where))
    return scenarios


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


def load_scenario_file(path: Path | str) -> list[Scenario]:
    """Read and validate one scenario file.

    Raises: ScenarioError (a ValueError) naming the file, the path inside it and the reason;
    OSError when the file cannot be read.
    """
    file = Path(path)
    if not file.is_file():
        raise ScenarioError(str(file), "(file)", "no such scenario file")
    return parse_text(file.read_text(encoding="utf-8"), str(file))
