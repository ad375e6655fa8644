"""The rule index picks exactly the rules a scan of every rule picks, in the same order."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from mock_server.scenarios.engine import ScenarioEngine
from mock_server.scenarios.matching import RequestFacts

VALUES = st.sampled_from(
    [
        "1",
        1,
        "2",
        ["1", "2"],
        {"present": True},
        {"present": False},
        {"not": "1"},
        {"matches": "^1"},
        {"equals": "1"},
        {"one_of": ["2", "3"]},
        "",
    ]
)
PATHS = st.sampled_from(
    [
        "/a/b",
        "/a",
        "/",
        "/a/*",
        "/*",
        "/a*",
        "/a/b?",
        "/[ab]/*",
        "a/b",
        "//a",
        {"glob": "/a/*"},
        {"contains": "a"},
        ["/a", "/b"],
        "/b/*/c",
    ]
)
HEADER_NAMES = st.sampled_from(["x-h", "X-H", "x-other"])
ALTERNATIVE = st.fixed_dictionaries(
    {},
    optional={
        "vendor": st.sampled_from(["qubs", "candid", ["qubs", "candid"], "q*"]),
        "operation": st.sampled_from(["qubs.create", "candid.get", "*.create"]),
        "method": st.sampled_from(["GET", "PUT", ["GET", "POST"]]),
        "path": PATHS,
        "path_params": st.dictionaries(st.sampled_from(["id", "other"]), VALUES, min_size=1, max_size=2),
        "query": st.dictionaries(st.sampled_from(["q", "r"]), VALUES, min_size=1, max_size=2),
        "headers": st.dictionaries(HEADER_NAMES, VALUES, min_size=1, max_size=2),
        "json": st.just({"a": 1}),
    },
)
RULE = st.fixed_dictionaries({"match": ALTERNATIVE | st.lists(ALTERNATIVE, min_size=1, max_size=3)})
REQUEST = st.fixed_dictionaries(
    {
        "method": st.sampled_from(["GET", "PUT", "POST"]),
        "path": st.sampled_from(["/", "/a", "/a/b", "/b", "/a/c", "/ab", "//a", "/b/x/c", "/c/d"]),
        "query_string": st.sampled_from([b"", b"q=1", b"q=2&q=1", b"q", b"r=1&q=3", b"q=&r=2"]),
        "headers": st.lists(
            st.tuples(
                st.sampled_from([b"x-h", b"X-H", b"x-other", b"host"]), st.sampled_from([b"1", b"2", b""])
            ),
            max_size=3,
        ),
        "state": st.fixed_dictionaries(
            {
                "vendor": st.sampled_from(["qubs", "candid", None]),
                "operation": st.sampled_from(["qubs.create", "candid.get", None]),
                "route_params": st.dictionaries(
                    st.sampled_from(["id", "other"]), st.sampled_from(["1", "2", 1]), max_size=2
                ),
            }
        ),
    }
)


def head_matches(candidates: tuple[Any, ...], facts: RequestFacts) -> list[tuple[str, int]]:
    return [
        (candidate.live.scenario.name, candidate.position)
        for candidate in candidates
        if any(alternative.matches_head(facts) for alternative in candidate.alternatives)
    ]


@settings(max_examples=200, deadline=None)
@given(st.lists(RULE, min_size=1, max_size=12), st.lists(REQUEST, min_size=1, max_size=5))
def test_index_picks_what_the_scan_picks(rules: list[dict[str, Any]], requests: list[dict[str, Any]]) -> None:
    engine = ScenarioEngine(None)
    half = len(rules) // 2
    for name, part in (("first", rules[:half]), ("second", rules[half:])):
        if part:
            specs = [{**rule, "respond": 503} for rule in part]
            engine.add({"scenarios": [{"name": name, "description": "t", "rules": specs}]})
    for scope in requests:
        facts = RequestFacts(scope)
        found = engine._candidates(facts)
        every, every_body = found
        selected, selected_body = engine._indexes.select(found, facts)
        positions = [every.index(candidate) for candidate in selected]
        assert positions == sorted(set(positions))  # a subsequence of the scan's, in its order
        assert head_matches(selected, facts) == head_matches(every, facts)
        assert head_matches(selected_body, facts) == head_matches(every_body, facts)


def test_hundred_unmatchable_rules_leave_no_candidates() -> None:
    engine = ScenarioEngine(None)
    rules = []
    for i in range(100):
        match = [
            {"vendor": ["qubs"], "path_params": {"appointmentId": f"B{i}"}},
            {"headers": {"X-Bench": str(i)}},
            {"query": {"bench": str(i)}},
            {"path": f"/bench/{i}/*"},
        ][i % 4]
        rules.append({"match": match, "respond": 503})
    engine.add({"scenarios": [{"name": "never", "description": "t", "rules": rules}]})
    scope = {
        "method": "POST",
        "path": "/qubs/api/attachments",
        "headers": [(b"x-bench", b"1000")],
        "query_string": b"bench=",
        "state": {"vendor": "qubs", "route_params": {"appointmentId": "A1"}},
    }
    facts = RequestFacts(scope)
    found = engine._candidates(facts)
    assert len(found[0]) == 100
    assert engine._indexes.select(found, facts) == ((), ())
