"""Scenario files noticed through ``watchfiles`` (scenarios/watch.py): a flag per request, no polling."""

from __future__ import annotations

from pathlib import Path

from starlette.testclient import TestClient

from mock_server.app import create_app
from mock_server.scenarios.watch import FileWatcher
from mock_server.settings import Settings

BASE = "http://127.0.0.1:8080"
PENDING = "/qubs/integrations/v1/acme/reporting/appointments/A123456"
BEARER = {"Authorization": "Bearer qubs-dev-token"}


def scenario(status: int) -> str:
    rule = f"{{match: {{operation: qubs.getPendingAppointment}}, respond: {status}}}"
    return f"scenarios:\n  - name: watched\n    description: d\n    rules:\n      - {rule}\n"


def test_an_edit_is_picked_up_at_the_request_after_the_watcher_reports_it(tmp_path: Path) -> None:
    file = tmp_path / "watched.yaml"
    file.write_text(scenario(503), encoding="utf-8")
    app = create_app(Settings(scenarios=(file,), default_scenarios=False))
    engine = app.state.sandbox.scenarios
    try:
        with TestClient(app, base_url=BASE) as client:
            assert client.get(PENDING, headers=BEARER).status_code == 503
            watcher = engine.watcher
            assert watcher is not None and watcher.running and watcher.roots == (tmp_path,)
            file.write_text(scenario(500), encoding="utf-8")
            watcher.on_change()  # what the watch thread does when the operating system reports the write
            assert client.get(PENDING, headers=BEARER).status_code == 500
    finally:
        app.state.sandbox.close()
    assert engine.watcher is None and not watcher.running


def test_the_operating_systems_event_marks_the_files_dirty(tmp_path: Path) -> None:
    file = tmp_path / "watched.yaml"
    file.write_text(scenario(503), encoding="utf-8")
    watcher = FileWatcher([file])
    assert watcher.start()
    try:
        assert watcher.take()  # the first check after start always looks
        file.write_text(scenario(500), encoding="utf-8")
        assert watcher.wait(timeout=10)  # an event wait, bounded; returns as soon as inotify reports
        assert watcher.take() and not watcher.take()
    finally:
        watcher.close()
    assert not watcher.running


def test_without_a_watcher_the_engine_checks_times_at_most_every_interval(tmp_path: Path) -> None:
    assert not FileWatcher([tmp_path / "missing" / "x.yaml"]).start()  # nothing to watch: not started
    app = create_app(Settings(default_scenarios=False))
    try:
        engine = app.state.sandbox.scenarios
        assert engine.reload_if_changed() is False and engine.watcher is None
    finally:
        app.state.sandbox.close()
