"""The scenario engine: picks the rule for a request and applies it. The only place faults come from.

Scenarios are kept in precedence order: added through the admin API (in the order added), then the
``--scenarios`` files (in the order given), then the vendors' built-in magic-id files
(``Vendor.magic_scenarios``, in registry order). For each request the
first rule that matches, is in its scenario's state and is allowed by its counters
(``after``/``times``/``probability``) applies; later rules are not consulted (nor counted).
Counters, states and the seeded random streams live here, per scenario; ``reset()`` returns to the
start-up state, and files that change on disk (noticed by a ``watchfiles`` thread, scenarios/watch.py)
are reloaded at the next request while the server runs.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Awaitable, Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from starlette.types import ASGIApp, Receive, Scope, Send

from mock_server.scenarios.actions import perform
from mock_server.scenarios.body import BODY_CAP, ReplayReceive, load_body_facts
from mock_server.scenarios.catalog import Catalog
from mock_server.scenarios.index import RouteIndexes
from mock_server.scenarios.matching import RequestFacts
from mock_server.scenarios.model import Rule, Scenario, ScenarioError, parse_scenarios, parse_text
from mock_server.scenarios.runtime import Candidate, Candidates, Decision, Live
from mock_server.scenarios.sources import FileSet
from mock_server.scenarios.watch import FileWatcher

if TYPE_CHECKING:
    from mock_server.core.sandbox import Sandbox

logger = logging.getLogger("mock_server.scenarios")
ADMIN_SOURCE = "admin"
ROUTE_CACHE_SIZE = 4096


class ScenarioEngine:
    def __init__(
        self, sandbox: Sandbox | None, files: Iterable[Path] = (), defaults: Iterable[Path] = ()
    ) -> None:
        self.sandbox = sandbox
        self.catalog = Catalog.of(sandbox.vendors) if sandbox is not None else None
        self.files = FileSet(tuple(files), tuple(defaults), self.catalog)
        self.sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep
        self.reload_interval = 1.0
        self.body_cap = BODY_CAP
        self._lock = threading.RLock()
        self._admin: list[Live] = []
        self._from_files: list[Live] = []
        self._removed: set[str] = set()
        self._active: tuple[Live, ...] = ()
        self._routes: dict[tuple[str | None, str | None, str], Candidates] = {}
        self._indexes = RouteIndexes()  # narrows a route's rules by the path, headers and query sent
        self._checked_at = float("-inf")
        self.watcher: FileWatcher | None = None  # started at the first request that has files to watch
        self._watch_started = False
        self.files.load_all()  # raises ScenarioError at start-up
        self._rebuild_from_files(keep_state=False)

    @classmethod
    def from_settings(cls, sandbox: Sandbox) -> ScenarioEngine:
        """Load ``settings.scenarios`` and, unless disabled, every vendor's built-in magic-id rules.

        Raises: ScenarioError (a ValueError) naming the file, path and reason of a broken file.
        """
        settings = sandbox.settings
        magic = [v.magic_scenarios for v in sandbox.vendors.values() if v.magic_scenarios is not None]
        return cls(sandbox, settings.scenarios, magic if settings.default_scenarios else ())

    @classmethod
    def like(cls, template: ScenarioEngine, sandbox: Sandbox) -> ScenarioEngine:
        """An engine for another sandbox (a session) with ``template``'s files and catalog, which are
        not read again; its counters, states and admin-added scenarios are its own."""
        engine = cls(None)
        engine.sandbox, engine.catalog = sandbox, template.catalog
        engine.files = template.files.copy()
        engine.files.load_all(strict=False)
        engine._rebuild_from_files(keep_state=False)
        return engine

    # -- the request path ---------------------------------------------------------------------
    async def intercept(self, scope: Scope, receive: Receive, send: Send, app: ASGIApp) -> None:
        """Run one HTTP request through the scenarios, calling ``app`` unless a rule answers itself."""
        state = scope.setdefault("state", {})
        if state.get("vendor") == "admin" or scope["path"].startswith("/__admin"):
            await app(scope, receive, send)
            return
        self.reload_if_changed()
        facts = RequestFacts(scope)
        candidates, body_candidates = self._indexes.select(self._candidates(facts), facts)
        if not candidates:
            await app(scope, receive, send)
            return
        replay = ReplayReceive(receive)
        if any(candidate.wants_body(facts) for candidate in body_candidates):
            await load_body_facts(facts, replay, self.body_cap)
        decision = self._decide(candidates, facts)
        if decision is None:
            await app(scope, replay, send)
            return
        state["scenario_rule"] = decision.label
        action = decision.rule.action
        if decision.delay_seconds > 0:
            await self.sleep(decision.delay_seconds)
        if action.lifetime is not None:
            state["lifetime_override"] = action.lifetime
        vendors = self.sandbox.vendors if self.sandbox is not None else {}
        await perform(action, scope, replay, send, app, vendors, facts)

    def _candidates(self, facts: RequestFacts) -> Candidates:
        """Rules in precedence order whose vendor/operation/method conditions accept this route (cached)."""
        key = (facts.vendor, facts.operation, facts.method)
        routes = self._routes
        found = routes.get(key)
        if found is None:
            every = tuple(
                Candidate(live, position, rule, alternatives)
                for live in self._active
                for position, rule in enumerate(live.scenario.rules)
                if (alternatives := rule.match.narrowed(*key))
            )
            found = every, tuple(candidate for candidate in every if candidate.needs_body)
            if len(routes) >= ROUTE_CACHE_SIZE:  # methods are client-chosen: keep the cache bounded
                routes.clear()
            routes[key] = found
        return found

    def _decide(self, candidates: tuple[Candidate, ...], facts: RequestFacts) -> Decision | None:
        with self._lock:
            for candidate in candidates:
                live, rule = candidate.live, candidate.rule
                if not live.enabled or (rule.state is not None and rule.state != live.state):
                    continue
                if candidate.position in live.disabled:
                    continue
                if not any(alternative.matches(facts) for alternative in candidate.alternatives):
                    continue
                position = candidate.position
                live.seen[position] += 1
                if live.seen[position] <= rule.after:
                    continue
                if rule.times is not None and live.hits[position] >= rule.times:
                    continue
                if rule.probability is not None and live.rng.random() >= rule.probability:
                    continue
                live.hits[position] += 1
                if rule.next_state is not None:
                    live.state = rule.next_state
                return Decision(live, rule, self._delay(live, rule))
        return None

    @staticmethod
    def _delay(live: Live, rule: Rule) -> float:
        bounds = rule.action.delay_ms
        if bounds is None:
            return 0.0
        low, high = bounds
        return (low if low == high else live.rng.uniform(low, high)) / 1000.0

    # -- loading --------------------------------------------------------------------------------
    def add(self, document: str | dict[str, Any] | list[Scenario], source: str = ADMIN_SOURCE) -> list[str]:
        """Add scenarios (YAML/JSON text, a parsed document or records); a known name is replaced in place.

        Raises: ScenarioError naming ``source``, the path inside it and the reason.
        """
        if isinstance(document, str):
            scenarios = parse_text(document, source, self.catalog)
        elif isinstance(document, dict):
            scenarios = parse_scenarios(document, source, self.catalog)
        else:
            scenarios = list(document)
        with self._lock:
            for scenario in scenarios:
                self._removed.discard(scenario.name)
                live = Live.of(scenario)
                index = next(
                    (i for i, old in enumerate(self._admin) if old.scenario.name == scenario.name), None
                )
                if index is None:
                    self._admin.append(live)
                else:
                    self._admin[index] = live
            self._publish()
        return [scenario.name for scenario in scenarios]

    def remove(self, name: str) -> bool:
        with self._lock:
            if self.get(name) is None:
                return False
            self._admin = [live for live in self._admin if live.scenario.name != name]
            self._removed.add(name)
            self._publish()
            return True

    def clear(self) -> None:
        """Remove every scenario except the built-in defaults (until the next reset)."""
        with self._lock:
            self._admin = []
            self._removed = {
                live.scenario.name
                for live in self._from_files
                if not self.files.is_default(live.scenario.source)
            }
            self._publish()

    def set_enabled(self, name: str, enabled: bool) -> bool:
        with self._lock:
            live = self.get(name)
            if live is None:
                return False
            live.enabled = enabled
            return True

    def set_rule_enabled(self, name: str, rule: str, enabled: bool) -> Live | None:
        """Switch one rule of scenario ``name`` on or off; ``rule`` is its ``id`` or its index (as text).

        A disabled rule is skipped as if absent (its counters do not move); the setting survives
        ``reset_counters`` and lasts until the scenario is reloaded or replaced.
        Raises: KeyError when the scenario has no such rule. Returns None for an unknown scenario.
        """
        with self._lock:
            live = self.get(name)
            if live is None:
                return None
            found = next((r for r in live.scenario.rules if rule in (r.id, str(r.index))), None)
            if found is None:
                raise KeyError(rule)
            (live.disabled.discard if enabled else live.disabled.add)(found.index)
            return live

    def reset_counters(self) -> None:
        """Counters, states and random streams back to their start; scenarios stay as they are."""
        with self._lock:
            for live in (*self._admin, *self._from_files):
                live.restart()

    def reset(self) -> None:
        """Back to the start-up state: admin additions and removals undone, files re-read, counters zero."""
        with self._lock:
            self._admin = []
            self._removed = set()
            self.files.load_all(strict=False)
            self._rebuild_from_files(keep_state=False)

    def reload_if_changed(self, force: bool = False) -> bool:
        """Re-read scenario files edited, added or deleted on disk.

        Normally a ``watchfiles`` thread (scenarios/watch.py) marks the files dirty and this only reads
        that flag; ``force`` checks modification times now. Where no watcher runs (watchfiles missing,
        nothing on disk to watch) times are checked at most every ``reload_interval`` seconds, and a
        ``reload_interval`` of 0 checks on every call (a synchronous path for tests).
        """
        if not force and not self._due():
            return False
        if not self.files.changed():
            return False
        with self._lock:
            changed_sources = self.files.load_all(strict=False)
            if changed_sources:
                self._rebuild_from_files(keep_state=True, changed=changed_sources)
        return bool(changed_sources)

    def _due(self) -> bool:
        """Whether to compare modification times now (see ``reload_if_changed``)."""
        if self.reload_interval == 0:
            return True
        if not self._watch_started:
            self._watch_started = True
            watcher = FileWatcher(self.files.paths)
            self.watcher = watcher if watcher.start() else None
        if self.watcher is not None and self.watcher.running:
            return self.watcher.take()
        clock = self.sandbox.clock.monotonic() if self.sandbox is not None else 0.0  # no sandbox: once
        if clock - self._checked_at < self.reload_interval:
            return False
        self._checked_at = clock
        return True

    def close(self) -> None:
        """Stop watching files (the server is shutting down)."""
        if self.watcher is not None:
            self.watcher.close()
            self.watcher = None

    def _rebuild_from_files(self, keep_state: bool, changed: set[str] | None = None) -> None:
        """Live scenarios for the files' current contents; unchanged files keep their counters if asked."""
        previous = {live.scenario.name: live for live in self._from_files}
        rebuilt: list[Live] = []
        for scenario in self.files.scenarios():
            old = previous.get(scenario.name)
            if keep_state and old is not None and changed is not None and scenario.source not in changed:
                rebuilt.append(old)
            else:
                rebuilt.append(Live.of(scenario))
        self._from_files = rebuilt
        self._publish()

    def _publish(self) -> None:
        hidden = {live.scenario.name for live in self._admin} | self._removed
        self._active = (
            *self._admin,
            *(live for live in self._from_files if live.scenario.name not in hidden),
        )
        self._routes = {}

    # -- reading ----------------------------------------------------------------------------------
    def get(self, name: str) -> Live | None:
        return next((live for live in self._active if live.scenario.name == name), None)

    @property
    def active(self) -> tuple[Live, ...]:
        return self._active

    @property
    def errors(self) -> list[ScenarioError]:
        return self.files.errors

    def describe(self, live: Live) -> dict[str, Any]:
        scenario = live.scenario
        with self._lock:
            rules = [
                {
                    "index": rule.index,
                    "id": rule.id,
                    "label": f"{scenario.name}/{rule.label}",
                    "seen": live.seen[rule.index],
                    "hits": live.hits[rule.index],
                    **dict(rule.spec),
                    "enabled": rule.index not in live.disabled,
                }
                for rule in scenario.rules
            ]
            return {
                "name": scenario.name,
                "description": scenario.description,
                "source": scenario.source,
                "enabled": live.enabled,
                "state": live.state,
                "initialState": scenario.initial_state,
                "seed": scenario.seed,
                "hits": sum(live.hits),
                "rules": rules,
            }

    def snapshot(self) -> dict[str, Any]:
        return {
            "scenarios": [self.describe(live) for live in self._active],
            "files": [str(path) for path in self.files.paths],
            "errors": [problem.as_dict() for error in self.errors for problem in error.problems],
        }
