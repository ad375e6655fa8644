"""Run-time state of loaded scenarios: counters, state and random stream; the rules a route can match."""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from mock_server.scenarios.matching import Conditions, RequestFacts
from mock_server.scenarios.model import Rule, Scenario


@dataclass
class Live:
    """A loaded scenario and its run-time state."""

    scenario: Scenario
    enabled: bool
    state: str = ""
    seen: list[int] = field(default_factory=list)
    hits: list[int] = field(default_factory=list)
    rng: random.Random = field(default_factory=random.Random)
    disabled: set[int] = field(default_factory=set)  # rule positions switched off (kept across restart)
    counters: str = ""  # where its counters live in shared state (scenarios/shared_engine.py); "" here

    @classmethod
    def of(cls, scenario: Scenario) -> Live:
        live = cls(scenario, scenario.enabled)
        live.restart()
        return live

    def restart(self) -> None:
        self.state = self.scenario.initial_state
        self.seen = [0] * len(self.scenario.rules)
        self.hits = [0] * len(self.scenario.rules)
        self.rng = random.Random(f"{self.scenario.seed}:{self.scenario.name}")


@dataclass(frozen=True)
class Candidate:
    """A rule that requests to one route (vendor, operation, method) can match, with its alternatives."""

    live: Live
    position: int
    rule: Rule
    alternatives: tuple[Conditions, ...]

    @property
    def needs_body(self) -> bool:
        return any(alternative.needs_body for alternative in self.alternatives)

    def wants_body(self, facts: RequestFacts) -> bool:
        return self.live.enabled and any(a.needs_body and a.matches_head(facts) for a in self.alternatives)


Candidates = tuple[tuple[Candidate, ...], tuple[Candidate, ...]]  # all of them, those reading the body


@dataclass(frozen=True)
class Decision:
    live: Live
    rule: Rule
    delay_seconds: float

    @property
    def label(self) -> str:
        return f"{self.live.scenario.name}/{self.rule.label}"
