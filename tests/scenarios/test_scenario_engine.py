"""Sequencing, precedence, isolation, reset and hot reload, shown over HTTP against the embedded storage."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from mock_server.app import create_app
from mock_server.core.sandbox import Sandbox
from mock_server.scenarios.engine import ScenarioEngine
from mock_server.scenarios.model import ScenarioError
from mock_server.settings import Settings

BASE = "http://127.0.0.1:8080"
BUCKET = "sandbox-uploads"


class Uploads:
    """Presigned PUT uploads to the embedded S3 (the one vendor always present)."""

    def __init__(self, client: TestClient, sandbox: Sandbox) -> None:
        self.client = client
        self.sandbox = sandbox

    def put(self, key: str = "reports/a.pdf", body: bytes = b"%PDF-1.7", **headers: str) -> Any:
        url = self.sandbox.storage.presign_put(BASE, BUCKET, key, expires_in=900).url
        return self.client.put(url, content=body, headers=headers)

    def statuses(self, count: int, key: str = "reports/a.pdf") -> list[int]:
        return [self.put(key).status_code for _ in range(count)]

    def rules(self) -> list[str | None]:
        return [
            entry.scenarioRule
            for entry in reversed(self.sandbox.journal.entries(operation="storage.putObject"))
        ]


@pytest.fixture
def engine(sandbox: Sandbox) -> ScenarioEngine:
    assert isinstance(sandbox.scenarios, ScenarioEngine)
    return sandbox.scenarios


@pytest.fixture
def uploads(client: TestClient, sandbox: Sandbox) -> Uploads:
    return Uploads(client, sandbox)


def scenario(name: str, *rules: str, extra: str = "") -> str:
    body = "".join(f"\n      - {rule}" for rule in rules)
    return f"scenarios:\n  - name: {name}\n    description: test\n{extra}    rules:{body}\n"


def test_times_applies_to_the_first_n_then_stops(engine: ScenarioEngine, uploads: Uploads) -> None:
    engine.add(scenario("twice", "{match: {operation: storage.putObject}, times: 2, respond: 503}"))
    assert uploads.statuses(3) == [503, 503, 200]
    assert uploads.rules() == ["twice/0", "twice/0", None]


def test_after_lets_the_first_n_through(engine: ScenarioEngine, uploads: Uploads) -> None:
    engine.add(
        scenario(
            "later", "{id: third, match: {operation: storage.putObject}, after: 2, times: 1, respond: 500}"
        )
    )
    assert uploads.statuses(4) == [200, 200, 500, 200]
    assert uploads.rules()[2] == "later/third"


def test_state_machine_tells_a_story(engine: ScenarioEngine, uploads: Uploads) -> None:
    engine.add(
        scenario(
            "story",
            "{match: {operation: storage.putObject}, state: Started, next_state: second, respond: 503}",
            "{match: {operation: storage.putObject}, state: second, next_state: done, respond: 500}",
        )
    )
    assert uploads.statuses(4) == [503, 500, 200, 200]
    assert engine.get("story").state == "done"  # type: ignore[union-attr]


def test_next_state_alone_moves_the_story_without_touching_the_request(
    engine: ScenarioEngine, uploads: Uploads
) -> None:
    engine.add(
        scenario(
            "armed",
            "{match: {path_params: {key: arm}}, next_state: armed}",
            "{match: {operation: storage.putObject}, state: armed, respond: 503}",
        )
    )
    assert uploads.statuses(1, key="x") == [200]
    assert uploads.statuses(1, key="arm") == [200]
    assert uploads.statuses(1, key="x") == [503]


def test_first_rule_wins_and_later_rules_are_not_counted(engine: ScenarioEngine, uploads: Uploads) -> None:
    engine.add(
        scenario(
            "order",
            "{match: {operation: storage.putObject}, times: 1, respond: 503}",
            "{match: {operation: storage.putObject}, respond: 500, times: 1}",
        )
    )
    assert uploads.statuses(3) == [503, 500, 200]
    rules = engine.describe(engine.get("order"))["rules"]  # type: ignore[arg-type]
    assert [(r["seen"], r["hits"]) for r in rules] == [(3, 1), (2, 1)]


def test_probability_is_reproducible_with_its_seed(engine: ScenarioEngine, uploads: Uploads) -> None:
    engine.add(
        scenario(
            "chaos",
            "{match: {operation: storage.putObject}, probability: 0.5, respond: 503}",
            extra="    seed: 3\n",
        )
    )
    first = uploads.statuses(20)
    assert 0 < first.count(503) < 20
    engine.reset_counters()
    assert uploads.statuses(20) == first
    engine.add(
        scenario(
            "chaos",
            "{match: {operation: storage.putObject}, probability: 0.5, respond: 503}",
            extra="    seed: 4\n",
        )
    )
    assert uploads.statuses(20) != first


def test_probability_extremes(engine: ScenarioEngine, uploads: Uploads) -> None:
    engine.add(scenario("never", "{match: {operation: storage.putObject}, probability: 0, respond: 503}"))
    assert uploads.statuses(3) == [200, 200, 200]
    engine.add(scenario("never", "{match: {operation: storage.putObject}, probability: 1, respond: 503}"))
    assert uploads.statuses(2) == [503, 503]


def test_a_rule_for_one_id_does_not_touch_another(engine: ScenarioEngine, uploads: Uploads) -> None:
    engine.add(
        scenario(
            "job-1",
            "{match: {operation: storage.putObject, path_params: {key: {glob: 'ci-job-1/*'}}}, respond: 503}",
        )
    )
    assert uploads.statuses(2, key="ci-job-2/a.pdf") == [200, 200]
    assert uploads.statuses(2, key="ci-job-1/a.pdf") == [503, 503]
    assert engine.describe(engine.get("job-1"))["hits"] == 2  # type: ignore[arg-type]


def test_admin_requests_are_never_matched(engine: ScenarioEngine, client: TestClient) -> None:
    engine.add(scenario("everything", "{respond: 500}"))
    assert client.get("/__admin/health").status_code == 200
    assert client.get("/__admin/scenarios").status_code == 200


def test_added_scenarios_take_precedence_over_the_defaults(engine: ScenarioEngine, uploads: Uploads) -> None:
    assert uploads.put("x/sandbox-fail-503.pdf").status_code == 503
    engine.add(scenario("mine", "{match: {operation: storage.putObject}, respond: 500}"))
    assert uploads.put("x/sandbox-fail-503.pdf").status_code == 500


def test_disable_enable_remove_clear(engine: ScenarioEngine, uploads: Uploads) -> None:
    engine.add(scenario("toggled", "{match: {operation: storage.putObject}, respond: 503}"))
    assert engine.set_enabled("toggled", False)
    assert uploads.statuses(1) == [200]
    assert engine.set_enabled("toggled", True)
    assert uploads.statuses(1) == [503]
    assert engine.remove("toggled") and not engine.remove("toggled")
    assert uploads.statuses(1) == [200]
    assert engine.remove("magic-storage")
    assert uploads.put("x/sandbox-fail-503.pdf").status_code == 200
    engine.add(scenario("again", "{match: {operation: storage.putObject}, respond: 503}"))
    engine.clear()
    assert [live.scenario.name for live in engine.active] == [
        "magic-qubs",
        "magic-decoda",
        "magic-saferme",
        "magic-candid",
        "magic-storage",
    ]


def test_reset_returns_to_the_start_up_state(
    engine: ScenarioEngine, uploads: Uploads, sandbox: Sandbox
) -> None:
    engine.add(scenario("temporary", "{match: {operation: storage.putObject}, times: 1, respond: 503}"))
    engine.remove("magic-storage")
    sandbox.reset()
    assert engine.get("temporary") is None and engine.get("magic-storage") is not None
    assert all(sum(live.hits) == 0 for live in engine.active)
    assert uploads.put("x/sandbox-fail-500.pdf").status_code == 500


def test_reset_counters_keeps_scenarios(engine: ScenarioEngine, uploads: Uploads) -> None:
    engine.add(scenario("once", "{match: {operation: storage.putObject}, times: 1, respond: 503}"))
    assert uploads.statuses(2) == [503, 200]
    engine.reset_counters()
    assert uploads.statuses(2) == [503, 200]


def test_without_default_scenarios_there_are_no_magic_ids() -> None:
    app = create_app(Settings(default_scenarios=False))
    try:
        with TestClient(app, base_url=BASE) as client:
            assert Uploads(client, app.state.sandbox).put("x/sandbox-fail-503.pdf").status_code == 200
            assert app.state.sandbox.scenarios.active == ()
    finally:
        app.state.sandbox.close()


class TestFiles:
    """--scenarios files and directories: loaded at start, reloaded when edited, fatal if broken at start."""

    @staticmethod
    def app_for(*paths: Path) -> Any:
        app = create_app(Settings(scenarios=paths))
        app.state.sandbox.scenarios.reload_interval = 0
        return app

    @staticmethod
    def write(path: Path, text: str) -> None:
        path.write_text(text, encoding="utf-8")
        stamp = path.stat().st_mtime_ns + 1_000_000_000  # a distinct mtime even on coarse file systems
        os.utime(path, ns=(stamp, stamp))

    def test_files_load_at_start_and_reload_when_edited(self, tmp_path: Path) -> None:
        file = tmp_path / "flaky.yaml"
        self.write(file, scenario("flaky", "{match: {operation: storage.putObject}, respond: 503}"))
        app = self.app_for(file)
        try:
            with TestClient(app, base_url=BASE) as client:
                uploads = Uploads(client, app.state.sandbox)
                assert uploads.statuses(1) == [503]
                self.write(file, scenario("flaky", "{match: {operation: storage.putObject}, respond: 500}"))
                assert uploads.statuses(1) == [500]
                self.write(file, "scenarios: [")
                assert uploads.statuses(1) == [500]  # a broken edit keeps the last good version
                listing = client.get("/__admin/scenarios").json()
                assert listing["errors"][0]["file"] == str(file) and "YAML" in listing["errors"][0]["reason"]
                self.write(file, scenario("renamed", "{match: {operation: storage.putObject}, pass: true}"))
                assert uploads.statuses(1) == [200]
                assert uploads.rules()[-1] == "renamed/0"
                assert client.get("/__admin/scenarios").json()["errors"] == []
        finally:
            app.state.sandbox.close()

    def test_directories_pick_up_new_and_deleted_files(self, tmp_path: Path) -> None:
        app = self.app_for(tmp_path)
        try:
            with TestClient(app, base_url=BASE) as client:
                uploads = Uploads(client, app.state.sandbox)
                assert uploads.statuses(1) == [200]
                self.write(
                    tmp_path / "new.yml",
                    scenario("new", "{match: {operation: storage.putObject}, respond: 503}"),
                )
                assert uploads.statuses(1) == [503]
                (tmp_path / "new.yml").unlink()
                assert uploads.statuses(1) == [200]
        finally:
            app.state.sandbox.close()

    def test_counters_of_unchanged_files_survive_a_reload(self, tmp_path: Path) -> None:
        once, other = tmp_path / "a-once.yaml", tmp_path / "b-other.yaml"
        self.write(once, scenario("once", "{match: {operation: storage.putObject}, times: 1, respond: 503}"))
        self.write(other, scenario("other", "{match: {path_params: {key: other}}, respond: 500}"))
        app = self.app_for(tmp_path)
        try:
            with TestClient(app, base_url=BASE) as client:
                uploads = Uploads(client, app.state.sandbox)
                assert uploads.statuses(2) == [503, 200]
                self.write(other, scenario("other", "{match: {path_params: {key: other}}, respond: 502}"))
                assert uploads.statuses(1) == [200] and uploads.statuses(1, key="other") == [502]
        finally:
            app.state.sandbox.close()

    def test_user_file_replaces_a_default_scenario_of_the_same_name(self, tmp_path: Path) -> None:
        file = tmp_path / "mine.yaml"
        self.write(
            file,
            scenario(
                "magic-storage", "{match: {path_params: {key: {contains: sandbox-fail-503}}}, respond: 502}"
            ),
        )
        app = self.app_for(file)
        try:
            with TestClient(app, base_url=BASE) as client:
                assert Uploads(client, app.state.sandbox).put("sandbox-fail-503").status_code == 502
        finally:
            app.state.sandbox.close()

    @pytest.mark.parametrize(
        "content", ["scenarios: [", scenario("x", "{respond: 302}")], ids=["yaml", "schema"]
    )
    def test_a_broken_file_stops_the_start(self, tmp_path: Path, content: str) -> None:
        file = tmp_path / "broken.yaml"
        self.write(file, content)
        with pytest.raises(ScenarioError) as caught:
            create_app(Settings(scenarios=(file,)))
        assert caught.value.file == str(file)

    def test_duplicate_names_across_files_stop_the_start(self, tmp_path: Path) -> None:
        for name in ("a.yaml", "b.yaml"):
            self.write(tmp_path / name, scenario("same", "{respond: 500}"))
        with pytest.raises(ScenarioError, match="duplicate scenario name 'same'"):
            create_app(Settings(scenarios=(tmp_path,)))

    def test_missing_path_stops_the_start(self, tmp_path: Path) -> None:
        with pytest.raises(ScenarioError, match="no such scenario file or directory"):
            create_app(Settings(scenarios=(tmp_path / "nope",)))
