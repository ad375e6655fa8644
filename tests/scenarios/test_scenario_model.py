"""Scenario files: the schema, useful refusals (file, path, reason), and `mock-server validate`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from mock_server.cli import main
from mock_server.scenarios.model import (
    SCHEMA_PATH,
    ScenarioError,
    load_scenario_file,
    parse_scenarios,
    parse_text,
    scenario_files,
)
from mock_server.vendors import available_vendors

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((ROOT / "scenarios").glob("*.yaml"))
DEFAULTS = [v.magic_scenarios for v in available_vendors().values() if v.magic_scenarios is not None]
ONE_RULE = "scenarios: [{name: s, description: d, rules: [%s]}]"


def test_schema_is_a_valid_json_schema() -> None:
    Draft202012Validator.check_schema(json.loads(SCHEMA_PATH.read_text(encoding="utf-8")))


@pytest.mark.parametrize("path", [*EXAMPLES, *DEFAULTS], ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_shipped_file_validates(path: Path) -> None:
    scenarios = load_scenario_file(path)
    assert scenarios and all(s.description and s.rules for s in scenarios)
    assert all(s.source == str(path) for s in scenarios)


def test_examples_exist_one_story_per_file() -> None:
    assert len(EXAMPLES) >= 6
    for path in EXAMPLES:
        (scenario,) = load_scenario_file(path)
        assert scenario.name == path.stem


BROKEN = [
    ("empty", "", "(top level)", "empty document"),
    ("not-a-mapping", "- a", "(top level)", "expected a mapping"),
    ("unknown-top-level-key", "scenario: []", "(top level)", "'scenario' was unexpected"),
    ("bad-yaml", "scenarios: [", "(top level)", "not valid YAML"),
    (
        "no-description",
        "scenarios: [{name: s, rules: [{respond: 500}]}]",
        "scenarios/0",
        "'description' is a required property",
    ),
    (
        "name-with-space",
        "scenarios: [{name: a b, description: d, rules: [{respond: 500}]}]",
        "scenarios/0/name",
        "does not match",
    ),
    (
        "no-rules",
        "scenarios: [{name: s, description: d, rules: []}]",
        "scenarios/0/rules",
        "should be non-empty",
    ),
    ("no-action", ONE_RULE % "{match: {vendor: qubs}}", "scenarios/0/rules/0", "at least one action"),
    (
        "status-too-low",
        ONE_RULE % "{respond: 302}",
        "scenarios/0/rules/0/respond",
        "less than the minimum of 400",
    ),
    (
        "status-too-high",
        ONE_RULE % "{respond: {status: 600}}",
        "scenarios/0/rules/0/respond/status",
        "greater than the maximum of 599",
    ),
    (
        "success-needs-body",
        ONE_RULE % "{respond: {status: 200}}",
        "scenarios/0/rules/0/respond",
        "'body' is a required property",
    ),
    (
        "unknown-rule-key",
        ONE_RULE % "{respond: 500, colour: red}",
        "scenarios/0/rules/0",
        "'colour' was unexpected",
    ),
    (
        "unknown-match-key",
        ONE_RULE % "{respond: 500, match: {vendr: qubs}}",
        "scenarios/0/rules/0/match",
        "'vendr' was unexpected",
    ),
    (
        "unknown-matcher-test",
        ONE_RULE % "{respond: 500, match: {headers: {X-A: {startswith: a}}}}",
        "scenarios/0/rules/0/match/headers/X-A",
        "'startswith' was unexpected",
    ),
    (
        "bad-regex",
        ONE_RULE % "{respond: 500, match: {path: {matches: '('}}}",
        "scenarios/0/rules/0/match",
        "invalid regular expression",
    ),
    ("bad-fault", ONE_RULE % "{fault: explode}", "scenarios/0/rules/0/fault", "is not one of"),
    (
        "drop-with-response",
        ONE_RULE % "{fault: drop, respond: 500}",
        "scenarios/0/rules/0/fault",
        "sends no response",
    ),
    (
        "truncate-at-without-fault",
        ONE_RULE % "{respond: 500, truncate_at: 3}",
        "scenarios/0/rules/0",
        "'fault' is a dependency of 'truncate_at'",
    ),
    (
        "delay-range-reversed",
        ONE_RULE % "{delay_ms: {min: 5, max: 1}}",
        "scenarios/0/rules/0/delay_ms",
        "min must not be greater than max",
    ),
    (
        "negative-delay",
        ONE_RULE % "{delay_ms: -1}",
        "scenarios/0/rules/0/delay_ms",
        "less than the minimum of 0",
    ),
    (
        "times-zero",
        ONE_RULE % "{respond: 500, times: 0}",
        "scenarios/0/rules/0/times",
        "less than the minimum of 1",
    ),
    (
        "probability-above-one",
        ONE_RULE % "{respond: 500, probability: 1.5}",
        "scenarios/0/rules/0/probability",
        "greater than the maximum of 1",
    ),
    ("bad-lifetime", ONE_RULE % "{lifetime: soon}", "scenarios/0/rules/0/lifetime", "soon"),
    (
        "bad-header-name",
        ONE_RULE % "{headers: {'Bad Header': x}}",
        "scenarios/0/rules/0/headers",
        "does not match",
    ),
    (
        "method-not-a-word",
        ONE_RULE % "{respond: 500, match: {method: [1]}}",
        "scenarios/0/rules/0/match/method/0",
        "is not of type 'string'",
    ),
    (
        "duplicate-scenario",
        "scenarios: [{name: s, description: d, rules: [{respond: 500}]},"
        " {name: s, description: d, rules: [{respond: 503}]}]",
        "scenarios/1/name",
        "duplicate scenario name 's'",
    ),
    (
        "duplicate-rule-id",
        ONE_RULE % "{id: r, respond: 500}, {id: r, respond: 503}",
        "scenarios/0/rules/1/id",
        "duplicate rule id 'r'",
    ),
    (
        "single-scenario-document",
        "{name: s, description: d, rules: [{respond: {status: 700}}]}",
        "rules/0/respond/status",
        "greater than the maximum of 599",
    ),
]


@pytest.mark.parametrize(
    ("text", "path", "reason"), [case[1:] for case in BROKEN], ids=[c[0] for c in BROKEN]
)
def test_invalid_documents_are_refused_with_file_path_and_reason(text: str, path: str, reason: str) -> None:
    with pytest.raises(ScenarioError) as caught:
        parse_text(text, "my-scenarios.yaml")
    error = caught.value
    assert (error.file, error.path) == ("my-scenarios.yaml", path), str(error)
    assert reason in error.reason
    where = "my-scenarios.yaml" if error.line is None else f"my-scenarios.yaml:{error.line}"
    assert str(error).splitlines()[0] == f"{where}: {path}: {error.reason}"
    assert isinstance(error, ValueError)


def test_a_single_scenario_document_and_json_are_accepted() -> None:
    (single,) = parse_scenarios({"name": "one", "description": "d", "rules": [{"respond": 503}]}, "body")
    assert single.name == "one" and single.rules[0].action.respond.status == 503  # type: ignore[union-attr]
    (from_json,) = parse_text(
        json.dumps({"scenarios": [{"name": "j", "description": "d", "rules": [{"pass": True}]}]}), "body.json"
    )
    assert from_json.rules[0].label == "0" and from_json.initial_state == "Started"


def test_rule_fields_are_read() -> None:
    (scenario,) = parse_text(
        ONE_RULE
        % (
            "{id: r1, state: A, next_state: B, after: 1, times: 2, probability: 0.5, lifetime: expired,"
            " delay_ms: {min: 10, max: 20}, headers: {Retry-After: 3}, fault: truncate, truncate_at: 4,"
            " respond: {status: 429, message: m, merge: {title: t}, content_type: application/x}}"
        ),
        "f",
    )
    rule = scenario.rules[0]
    assert (rule.label, rule.state, rule.next_state, rule.after, rule.times, rule.probability) == (
        "r1",
        "A",
        "B",
        1,
        2,
        0.5,
    )
    action = rule.action
    assert (action.lifetime, action.delay_ms, action.headers, action.fault, action.truncate_at) == (
        0.0,
        (10.0, 20.0),
        (("Retry-After", "3"),),
        "truncate",
        4,
    )
    assert action.respond is not None and (action.respond.message, action.respond.merge) == (
        "m",
        {"title": "t"},
    )


def test_missing_file_and_directory_expansion(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match="no such scenario file"):
        load_scenario_file(tmp_path / "absent.yaml")
    with pytest.raises(ScenarioError, match="no such scenario file or directory"):
        scenario_files([tmp_path / "absent"])
    (tmp_path / "b.yaml").write_text("x", encoding="utf-8")
    (tmp_path / "a.json").write_text("x", encoding="utf-8")
    (tmp_path / "notes.txt").write_text("x", encoding="utf-8")
    assert [p.name for p in scenario_files([tmp_path])] == ["a.json", "b.yaml"]


def test_validate_command_reports_file_path_and_reason(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text(ONE_RULE % "{respond: 302}", encoding="utf-8")
    assert main(["validate", str(EXAMPLES[0]), str(broken)]) == 1
    out, err = capsys.readouterr()
    assert f"ok: {EXAMPLES[0]}" in out
    assert "broken.yaml:1: scenarios/0/rules/0/respond: 302 is less than the minimum of 400" in err
    assert main(["validate", *map(str, EXAMPLES)]) == 0
