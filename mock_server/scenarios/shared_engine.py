"""The scenario engine over shared state, for several worker processes over one sandbox (core/shared.py).

Each process reads the ``--scenarios`` files and the vendors' built-in rules itself (the same files give
the same rules). What the admin API changes (scenarios added, removed, cleared; scenarios and rules
switched on or off) is stored in Redis as one pickled configuration with a version token: a process
compares the token once per request (``sync``, one GET, or none when the caller read the token in a
batch of its own) and rebuilds its rules only when it changed. Counters (``seen``/``hits`` per rule) and
states live in one Redis hash, so ``times: 1`` fires once in all, "fail twice then succeed" counts the
requests every process gets, and the hits shown are the totals.

Deciding and counting is one atomic step (a Lua script walking the rules a request matches, in
precedence order), so two processes can never both take the last of a rule's ``times``. A request whose
first matching rule needs no counter (no ``after``, ``times``, ``probability`` or ``state``) does not
wait for Redis: its counts are queued with the request's writes (``SharedState.write``).

Differences from the in-process engine: ``probability`` draws come from a hash of the scenario's seed,
name, rule and ``seen`` count (reproducible whichever process answers, but not the same draws as the
in-process stream); the random part of a ``delay_ms`` range is drawn by each process.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mock_server.core.shared import SharedState, dumps, loads
from mock_server.scenarios.engine import ADMIN_SOURCE, ScenarioEngine
from mock_server.scenarios.matching import RequestFacts
from mock_server.scenarios.model import Scenario, parse_scenarios, parse_text
from mock_server.scenarios.runtime import Candidate, Decision, Live

if TYPE_CHECKING:
    from starlette.types import ASGIApp, Receive, Scope, Send

    from mock_server.core.sandbox import Sandbox

# KEYS[1]: the counters hash. ARGV: 9 per rule, in precedence order: counters key, position, after,
# times (-1: none), probability (-1: none), required state ('=' .. state, '' for none), next state (same),
# initial state, seed text. Returns the 1-based number of the rule that fires, 0 when none does.
DECIDE = """
local h = KEYS[1]
for i = 0, #ARGV / 9 - 1 do
  local b = i * 9
  local key, pos = ARGV[b + 1], ARGV[b + 2]
  local after, times, chance = tonumber(ARGV[b + 3]), tonumber(ARGV[b + 4]), tonumber(ARGV[b + 5])
  local wanted, following = ARGV[b + 6], ARGV[b + 7]
  local ok = true
  if wanted ~= '' then
    local state = redis.call('HGET', h, key .. '|st') or ARGV[b + 8]
    ok = ('=' .. state) == wanted
  end
  if ok then
    local seen = redis.call('HINCRBY', h, key .. '|s|' .. pos, 1)
    local hits = tonumber(redis.call('HGET', h, key .. '|h|' .. pos) or '0')
    if seen > after and (times < 0 or hits < times) then
      local pass = true
      if chance >= 0 then
        local digest = redis.sha1hex(ARGV[b + 9] .. '|' .. pos .. '|' .. seen)
        pass = tonumber(string.sub(digest, 1, 8), 16) / 4294967296 < chance
      end
      if pass then
        redis.call('HINCRBY', h, key .. '|h|' .. pos, 1)
        if following ~= '' then
          redis.call('HSET', h, key .. '|st', string.sub(following, 2))
        end
        return i + 1
      end
    end
  end
end
return 0
"""

_UNREAD = object()
EMPTY: dict[str, Any] = {"admin": [], "removed": set(), "enabled": {}, "disabled": {}}


class SharedScenarioEngine(ScenarioEngine):
    """``ScenarioEngine`` whose admin changes, counters and states live in ``shared`` (one sandbox's
    namespace): engines of several processes over one namespace act as one."""

    def __init__(
        self,
        sandbox: Sandbox | None,
        files: Iterable[Path] = (),
        defaults: Iterable[Path] = (),
        *,
        shared: SharedState,
    ) -> None:
        self.shared = shared
        self.version_key = shared.key("scenarios", "version")
        self._config_key = shared.key("scenarios", "config")
        self._counters_key = shared.key("scenarios", "counters")
        self._version: bytes | None = None  # the configuration token this process runs (None: defaults)
        self.sync_each_request = True  # False when the caller calls ``sync`` itself at request start
        super().__init__(sandbox, files, defaults)
        self._decide_script = shared.redis.register_script(DECIDE)

    @classmethod
    def from_settings(cls, sandbox: Sandbox, shared: SharedState | None = None) -> ScenarioEngine:
        """``ScenarioEngine.from_settings`` over ``shared`` (default: ``sandbox.shared``).

        Raises: ScenarioError for a broken file; ValueError when no shared state is given.
        """
        settings = sandbox.settings
        magic = [v.magic_scenarios for v in sandbox.vendors.values() if v.magic_scenarios is not None]
        return cls(
            sandbox,
            settings.scenarios,
            magic if settings.default_scenarios else (),
            shared=_shared_of(sandbox, shared),
        )

    @classmethod
    def like(
        cls, template: ScenarioEngine, sandbox: Sandbox, shared: SharedState | None = None
    ) -> ScenarioEngine:
        """An engine for another sandbox (a session) over its own namespace (``shared``, default
        ``sandbox.shared``), with ``template``'s files and catalog."""
        engine = cls(None, shared=_shared_of(sandbox, shared))
        engine.sandbox, engine.catalog = sandbox, template.catalog
        engine.files = template.files.copy()
        engine.files.load_all(strict=False)
        engine._rebuild_from_files(keep_state=False)
        return engine

    # -- the configuration the admin API changes ------------------------------------------------------
    def sync(self, token: Any = _UNREAD) -> bool:
        """Bring this process's rules up to the shared configuration; ``token`` is the value of
        ``version_key`` when the caller has already read it (saving the GET). True when it changed."""
        if token is _UNREAD:
            token = self.shared.redis.get(self.version_key)
        if token == self._version:
            return False
        blob = self.shared.redis.get(self._config_key)
        with self._lock:
            self._apply(loads(blob) if blob is not None else EMPTY)
            self._version = token
        return True

    def _apply(self, config: dict[str, Any]) -> None:
        known = {live.counters: live for live in self._admin}
        admin: list[Live] = []
        for key, document, source in config["admin"]:
            live = known.get(key)
            if live is None:
                live = Live.of(parse_scenarios(document, source, self.catalog)[0])
                live.counters = key
            admin.append(live)
        self._admin = admin
        self._removed = set(config["removed"])
        for live in (*self._admin, *self._from_files):
            live.enabled = config["enabled"].get(live.counters, live.scenario.enabled)
            live.disabled = set(config["disabled"].get(live.counters, ()))
        self._publish()

    def _store(self) -> None:
        """Publish this process's configuration (called under the shared lock, after a change)."""
        lives = (*self._admin, *self._from_files)
        config = {
            "admin": [
                (live.counters, _document(live.scenario), live.scenario.source) for live in self._admin
            ],
            "removed": set(self._removed),
            "enabled": {
                live.counters: live.enabled for live in lives if live.enabled != live.scenario.enabled
            },
            "disabled": {live.counters: set(live.disabled) for live in lives if live.disabled},
        }
        token = uuid.uuid4().hex.encode()
        pipe = self.shared.redis.pipeline(transaction=True)
        pipe.set(self._config_key, dumps(config))
        pipe.set(self.version_key, token)
        pipe.execute()
        self._version = token

    def _publish(self) -> None:
        for live in self._admin:
            if not live.counters:
                live.counters = "a" + uuid.uuid4().hex[:16]  # a fresh scenario: fresh counters
        for live in self._from_files:
            if not live.counters:
                live.counters = _content_key(live.scenario)  # the same file in every process
        super()._publish()

    def add(self, document: str | dict[str, Any] | list[Scenario], source: str = ADMIN_SOURCE) -> list[str]:
        """As ``ScenarioEngine.add``; every process applies it from its next request."""
        if isinstance(document, str):
            document = parse_text(document, source, self.catalog)
        elif isinstance(document, dict):
            document = parse_scenarios(document, source, self.catalog)
        with self.shared.lock(), self._lock:
            self.sync()
            names = super().add(document, source)
            self._store()
        return names

    def remove(self, name: str) -> bool:
        """As ``ScenarioEngine.remove``, for every process."""
        with self.shared.lock(), self._lock:
            self.sync()
            removed = super().remove(name)
            if removed:
                self._store()
        return removed

    def clear(self) -> None:
        """As ``ScenarioEngine.clear``, for every process."""
        with self.shared.lock(), self._lock:
            self.sync()
            super().clear()
            self._store()

    def set_enabled(self, name: str, enabled: bool) -> bool:
        """As ``ScenarioEngine.set_enabled``, for every process."""
        with self.shared.lock(), self._lock:
            self.sync()
            found = super().set_enabled(name, enabled)
            if found:
                self._store()
        return found

    def set_rule_enabled(self, name: str, rule: str, enabled: bool) -> Live | None:
        """As ``ScenarioEngine.set_rule_enabled``, for every process."""
        with self.shared.lock(), self._lock:
            self.sync()
            live = super().set_rule_enabled(name, rule, enabled)
            if live is not None:
                self._store()
        return live

    def reset_counters(self) -> None:
        """Every process's counters and states back to zero and the initial states."""
        super().reset_counters()
        self.shared.redis.delete(self._counters_key)

    def reset(self) -> None:
        """Back to the start-up state for every process: admin changes undone, counters zero."""
        with self.shared.lock(), self._lock:
            super().reset()
            self.shared.redis.delete(self._counters_key)
            self._store()

    # -- the request path ---------------------------------------------------------------------------
    async def intercept(self, scope: Scope, receive: Receive, send: Send, app: ASGIApp) -> None:
        """``ScenarioEngine.intercept``, after ``sync`` (unless the caller syncs itself)."""
        if self.sync_each_request:
            self.sync()
        await super().intercept(scope, receive, send, app)

    def _decide(self, candidates: tuple[Candidate, ...], facts: RequestFacts) -> Decision | None:
        matching = [
            candidate
            for candidate in candidates
            if candidate.live.enabled
            and candidate.position not in candidate.live.disabled
            and any(alternative.matches(facts) for alternative in candidate.alternatives)
        ]
        if not matching:
            return None
        first = matching[0]
        if _certain(first):
            self._count_queued(first)
            return Decision(first.live, first.rule, self._delay(first.live, first.rule))
        args: list[Any] = []
        for candidate in matching:
            rule, scenario = candidate.rule, candidate.live.scenario
            args += [
                candidate.live.counters,
                candidate.position,
                rule.after,
                -1 if rule.times is None else rule.times,
                -1 if rule.probability is None else rule.probability,
                "" if rule.state is None else "=" + rule.state,
                "" if rule.next_state is None else "=" + rule.next_state,
                scenario.initial_state,
                f"{scenario.seed}:{scenario.name}",
            ]
        fired = int(self._decide_script(keys=[self._counters_key], args=args))
        if not fired:
            return None
        chosen = matching[fired - 1]
        return Decision(chosen.live, chosen.rule, self._delay(chosen.live, chosen.rule))

    def _count_queued(self, candidate: Candidate) -> None:
        """Count a rule that fires whatever the counters say, with the request's queued writes."""
        key, position, following = self._counters_key, candidate.position, candidate.rule.next_state
        prefix = candidate.live.counters

        def count(pipe: Any) -> None:
            pipe.hincrby(key, f"{prefix}|s|{position}", 1)
            pipe.hincrby(key, f"{prefix}|h|{position}", 1)
            if following is not None:
                pipe.hset(key, f"{prefix}|st", following)

        self.shared.write(count, {})

    # -- reading -----------------------------------------------------------------------------------------
    def _fill(self, lives: Iterable[Live]) -> None:
        """Copy the shared counters and states into ``lives`` (for describing them), one round trip."""
        lives = list(lives)
        fields: list[str] = []
        for live in lives:
            fields.append(f"{live.counters}|st")
            for position in range(len(live.scenario.rules)):
                fields += [f"{live.counters}|s|{position}", f"{live.counters}|h|{position}"]
        values = iter(self.shared.redis.hmget(self._counters_key, fields) if fields else [])
        for live in lives:
            state = next(values)
            live.state = state.decode() if state is not None else live.scenario.initial_state
            for position in range(len(live.scenario.rules)):
                live.seen[position] = int(next(values) or 0)
                live.hits[position] = int(next(values) or 0)

    def get(self, name: str) -> Live | None:
        """The active scenario ``name`` in the shared configuration, its counters and state read, or None."""
        self.sync()
        live = super().get(name)
        if live is not None:
            self._fill([live])
        return live

    @property
    def active(self) -> tuple[Live, ...]:
        """The active scenarios in precedence order, as the shared configuration has them."""
        self.sync()
        return self._active

    def describe(self, live: Live) -> dict[str, Any]:
        """``ScenarioEngine.describe`` with the counters and state every process shares."""
        self._fill([live])
        return super().describe(live)

    def snapshot(self) -> dict[str, Any]:
        """``ScenarioEngine.snapshot`` with the shared configuration and counters (two round trips)."""
        self.sync()
        lives = self._active
        self._fill(lives)
        return {
            "scenarios": [ScenarioEngine.describe(self, live) for live in lives],
            "files": [str(path) for path in self.files.paths],
            "errors": [problem.as_dict() for error in self.errors for problem in error.problems],
        }


def _certain(candidate: Candidate) -> bool:
    """Whether the rule fires whatever its counters say (so deciding needs no Redis)."""
    rule = candidate.rule
    return rule.after == 0 and rule.times is None and rule.probability is None and rule.state is None


def _document(scenario: Scenario) -> dict[str, Any]:
    """A document ``parse_scenarios`` turns back into ``scenario`` (another process's copy)."""
    item = {
        "name": scenario.name,
        "description": scenario.description,
        "enabled": scenario.enabled,
        "seed": scenario.seed,
        "initial_state": scenario.initial_state,
        "rules": [dict(rule.spec) for rule in scenario.rules],
    }
    return {"scenarios": [item]}


def _content_key(scenario: Scenario) -> str:
    text = repr(sorted(_document(scenario)["scenarios"][0].items(), key=lambda pair: pair[0]))
    return "f" + hashlib.sha1(text.encode(), usedforsecurity=False).hexdigest()[:16]


def _shared_of(sandbox: Sandbox, shared: SharedState | None) -> SharedState:
    found = shared if shared is not None else getattr(sandbox, "shared", None)
    if found is None:
        raise ValueError("a shared scenario engine needs the sandbox's SharedState")
    return found
