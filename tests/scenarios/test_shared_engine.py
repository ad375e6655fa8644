"""Two scenario engines over one shared namespace (two worker processes) behave as one engine."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient

from mock_server.app import create_app
from mock_server.core.shared import SharedState, connect
from mock_server.scenarios.shared_engine import SharedScenarioEngine
from mock_server.settings import Settings

BASE = "http://127.0.0.1:8080"
BUCKET = "sandbox-uploads"


def scenario(name: str, *rules: str, extra: str = "") -> str:
    body = "".join(f"\n      - {rule}" for rule in rules)
    return f"scenarios:\n  - name: {name}\n    description: test\n{extra}    rules:{body}\n"


class Worker:
    """One app (a worker process) whose scenario engine keeps its state in the shared namespace."""

    def __init__(self, app: Starlette, client: TestClient) -> None:
        self.app, self.client = app, client
        self.sandbox = app.state.sandbox
        self.engine: SharedScenarioEngine = self.sandbox.scenarios

    def put(self, key: str = "reports/a.pdf") -> int:
        url = self.sandbox.storage.presign_put(BASE, BUCKET, key, expires_in=900).url
        return self.client.put(url, content=b"%PDF-1.7").status_code


@pytest.fixture
def workers(shared_state: SharedState, redis_url: str) -> Iterator[tuple[Worker, Worker]]:
    made: list[Worker] = []
    states = [shared_state, SharedState(connect(redis_url), shared_state.namespace)]
    for state in states:
        app = create_app(Settings(seed=1234))
        sandbox = app.state.sandbox
        sandbox.shared = state
        sandbox.scenarios = SharedScenarioEngine.from_settings(sandbox)
        client = TestClient(app, base_url=BASE, raise_server_exceptions=True).__enter__()
        made.append(Worker(app, client))
    yield made[0], made[1]
    for worker in made:
        worker.client.__exit__(None, None, None)
        worker.sandbox.close()
    states[1].redis.close()


def test_a_rule_added_on_one_is_active_on_the_other(workers: tuple[Worker, Worker]) -> None:
    a, b = workers
    a.engine.add(scenario("busy", "{match: {operation: storage.putObject}, respond: 503}"))
    assert b.put() == 503 and a.put() == 503
    assert b.engine.describe(b.engine.get("busy"))["hits"] == 2  # type: ignore[arg-type]
    b.engine.remove("busy")
    assert a.put() == 200 and a.engine.get("busy") is None


def test_fail_twice_then_succeed_counts_requests_across_both(workers: tuple[Worker, Worker]) -> None:
    a, b = workers
    b.engine.add(scenario("twice", "{match: {operation: storage.putObject}, times: 2, respond: 503}"))
    assert [a.put(), b.put(), a.put(), b.put()] == [503, 503, 200, 200]
    for worker in workers:
        (rule,) = worker.engine.describe(worker.engine.get("twice"))["rules"]  # type: ignore[arg-type]
        assert (rule["seen"], rule["hits"]) == (4, 2)


def test_times_one_fires_once_in_total_under_concurrency(workers: tuple[Worker, Worker]) -> None:
    a, b = workers
    a.engine.add(scenario("once", "{match: {operation: storage.putObject}, times: 1, respond: 503}"))
    statuses: list[int] = []

    def hammer(worker: Worker) -> None:
        for number in range(10):
            statuses.append(worker.put(f"k/{number}"))

    threads = [threading.Thread(target=hammer, args=(worker,)) for worker in (a, b, a, b)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [200] * 39 + [503]
    assert a.engine.snapshot()["scenarios"][0]["hits"] == 1


def test_enable_disable_and_rule_switches_apply_on_the_other(workers: tuple[Worker, Worker]) -> None:
    a, b = workers
    a.engine.add(
        scenario(
            "pair",
            "{id: first, match: {operation: storage.putObject}, respond: 503}",
            "{id: second, match: {operation: storage.putObject}, respond: 500}",
        )
    )
    assert b.engine.set_enabled("pair", False)
    assert a.put() == 200
    a.engine.set_enabled("pair", True)
    b.engine.set_rule_enabled("pair", "first", False)
    assert a.put() == 500
    shown = a.engine.describe(a.engine.get("pair"))  # type: ignore[arg-type]
    assert [rule["enabled"] for rule in shown["rules"]] == [False, True] and shown["enabled"]


def test_states_move_for_both(workers: tuple[Worker, Worker]) -> None:
    a, b = workers
    a.engine.add(
        scenario(
            "story",
            "{match: {operation: storage.putObject}, state: Started, next_state: second, respond: 503}",
            "{match: {operation: storage.putObject}, state: second, next_state: done, respond: 500}",
        )
    )
    assert [b.put(), a.put(), b.put()] == [503, 500, 200]
    assert a.engine.get("story").state == "done"  # type: ignore[union-attr]
    assert a.engine.describe(a.engine.get("story"))["state"] == "done"  # type: ignore[arg-type]


def test_certain_rules_count_with_the_queued_writes(workers: tuple[Worker, Worker]) -> None:
    a, b = workers
    a.engine.add(scenario("plain", "{match: {operation: storage.putObject}, respond: 503}"))
    counters = a.engine.shared.key("scenarios", "counters")
    # The count rides on the request's own flush (the middleware opens its queue), no round trip of its own.
    assert a.put() == 503
    assert a.engine.shared.redis.hlen(counters) >= 1
    assert b.engine.describe(b.engine.get("plain"))["hits"] == 1  # type: ignore[arg-type]


def test_reset_counters_and_reset_apply_to_both(workers: tuple[Worker, Worker]) -> None:
    a, b = workers
    a.engine.add(scenario("once", "{match: {operation: storage.putObject}, times: 1, respond: 503}"))
    assert [a.put(), b.put()] == [503, 200]
    b.engine.reset_counters()
    assert [a.put(), b.put()] == [503, 200]
    a.engine.reset()
    assert b.engine.get("once") is None and b.put() == 200


def test_clear_on_one_clears_the_other(workers: tuple[Worker, Worker]) -> None:
    a, b = workers
    a.engine.add(scenario("busy", "{match: {operation: storage.putObject}, respond: 503}"))
    b.engine.clear()
    assert a.put() == 200 and [live.scenario.name for live in a.engine.active] == [
        live.scenario.name for live in b.engine.active
    ]


def test_probability_draws_are_shared_and_reproducible(workers: tuple[Worker, Worker]) -> None:
    a, b = workers
    chaos = scenario(
        "chaos",
        "{match: {operation: storage.putObject}, probability: 0.5, respond: 503}",
        extra="    seed: 3\n",
    )
    a.engine.add(chaos)
    first = [(a, b)[n % 2].put() for n in range(12)]
    a.engine.reset_counters()
    again = [(b, a)[n % 2].put() for n in range(12)]
    assert first == again and {503, 200} == set(first)


def test_the_admin_api_of_either_shows_the_totals(workers: tuple[Worker, Worker]) -> None:
    a, b = workers
    created = a.client.post(
        "/__admin/scenarios",
        content=scenario("busy", "{match: {operation: storage.putObject}, times: 3, respond: 503}"),
    )
    assert created.status_code in (200, 201), created.text
    assert [a.put(), b.put()] == [503, 503]
    shown = b.client.get("/__admin/scenarios/busy").json()
    assert shown["hits"] == 2 and shown["rules"][0]["seen"] == 2
